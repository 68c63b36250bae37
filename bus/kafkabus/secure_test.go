package kafkabus

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

// TestPrivateBroker runs the tests that need a broker of their own, one
// after the other on one broker (starting one takes seconds): SASL and
// TLS listeners, then a frozen broker.
func TestPrivateBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starting a private broker takes seconds")
	}
	t.Parallel()
	b := testkafka.StartSecure(t)
	t.Run("sasl and tls", func(t *testing.T) { testSASLAndTLS(t, b) })
	t.Run("frozen broker is back-pressure", func(t *testing.T) { testBrokerPause(t, &b.Broker) })
}

// testSASLAndTLS runs topic creation, producing, a consumer group and
// ReadLatest through each SASL mechanism, in plaintext and over TLS, on
// a broker that checks the credentials; a wrong password is refused with
// an error that says what to check.
func testSASLAndTLS(t *testing.T, b *testkafka.SecureBroker) {
	tlsCfg, err := TLSConfig(b.CAFile, "", "", "", false)
	require.NoError(t, err)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"plain", Config{Brokers: []string{b.SASLAddr}, SASL: SASL{Mechanism: "plain", Username: b.User, Password: b.Password}}},
		{"scram-sha-256", Config{Brokers: []string{b.SASLAddr}, SASL: SASL{Mechanism: "scram-sha-256", Username: b.User, Password: b.Password}}},
		{"scram-sha-512", Config{Brokers: []string{b.SASLAddr}, SASL: SASL{Mechanism: "scram-sha-512", Username: b.User, Password: b.Password}}},
		{"tls+scram-sha-512", Config{Brokers: []string{b.SASLSSLAddr}, TLS: tlsCfg, SASL: SASL{Mechanism: "scram-sha-512", Username: b.User, Password: b.Password}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := tc.cfg
			cfg.DialTimeout = 5 * time.Second
			topic := testkafka.Topic(t, "sec")
			counts, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: topic, Partitions: 2}})
			require.NoError(t, err)
			require.Equal(t, 2, counts[topic])

			p, err := NewProducer(cfg, ProducerOptions{Topic: topic, Compression: "zstd"})
			require.NoError(t, err)
			var msgs []Message
			for i := 0; i < 100; i++ {
				msgs = append(msgs, msgf(fmt.Sprintf("k%d", i%10), "v%d", i))
			}
			require.NoError(t, p.Produce(ctx, msgs))
			require.NoError(t, p.Close())

			var n atomic.Int64
			gctx, stop := context.WithCancel(ctx)
			ret := make(chan error, 1)
			go func() {
				ret <- ConsumeBatches(gctx, cfg, fastGroup(testkafka.Group(t, "sec"), []string{topic}, nil),
					func(_ context.Context, msgs []Message) error { n.Add(int64(len(msgs))); return nil })
			}()
			require.Eventually(t, func() bool { return n.Load() == 100 }, 30*time.Second, 20*time.Millisecond)
			stop()
			require.NoError(t, <-ret)

			latest, err := ReadLatest(ctx, cfg, topic, func([]byte) bool { return true })
			require.NoError(t, err)
			require.Len(t, latest, 10)
			k3 := latest["k3"]
			require.Equal(t, "v93", string(k3.Value))
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, mech := range []string{"plain", "scram-sha-256"} {
			cfg := Config{Brokers: []string{b.SASLAddr}, DialTimeout: 5 * time.Second,
				SASL: SASL{Mechanism: mech, Username: b.User, Password: "wrong"}}
			_, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: testkafka.Topic(t, "x"), Partitions: 1}})
			require.ErrorContains(t, err, "Authentication", mech)
			err = RunGroup(ctx, cfg, fastGroup("g", []string{"t"}, newRecorder("x")))
			require.ErrorContains(t, err, "check the SASL mechanism, user name and password", mech)
		}
	})
	t.Run("tls without the CA", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		system, err := TLSConfig("", "", "", "", false)
		require.NoError(t, err)
		cfg := Config{Brokers: []string{b.SASLSSLAddr}, TLS: system, DialTimeout: 5 * time.Second,
			SASL: SASL{Mechanism: "scram-sha-512", Username: b.User, Password: b.Password}}
		_, err = PartitionCount(ctx, cfg, "any")
		require.ErrorContains(t, err, "certificate signed by unknown authority")
	})
}
