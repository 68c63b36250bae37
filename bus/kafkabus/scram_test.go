package kafkabus

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The exchange of RFC 7677 section 3.
func TestSCRAMSHA256RFC7677(t *testing.T) {
	m := newSCRAM(scramSHA256, "user", "pencil")
	m.nonce = "rOprNGfwEbeRWgbNEkqO"
	sess, first, err := m.Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", string(first))

	done, final, err := sess.Next(context.Background(),
		[]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", string(final))

	done, resp, err := sess.Next(context.Background(), []byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
	require.NoError(t, err)
	require.True(t, done)
	require.Nil(t, resp)
}

// scramServer plays the broker's side for one exchange.
func scramServer(t *testing.T, algo scramAlgo, password string, clientFirst []byte, sess *scramSession) (serverFinal string, proofOK bool) {
	t.Helper()
	bare := strings.TrimPrefix(string(clientFirst), "n,,")
	nonce := bare[strings.Index(bare, ",r=")+3:]
	salt := []byte("0123456789abcdef")
	serverFirst := "r=" + nonce + "SERVER,s=" + base64.StdEncoding.EncodeToString(salt) + ",i=4096"
	_, clientFinal, err := sess.Next(context.Background(), []byte(serverFirst))
	require.NoError(t, err)

	withoutProof, proofB64, ok := strings.Cut(string(clientFinal), ",p=")
	require.True(t, ok)
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	require.NoError(t, err)
	salted, err := pbkdf2.Key(algo.hash, password, salt, 4096, algo.hash().Size())
	require.NoError(t, err)
	h := algo.hash()
	h.Write(scramHMAC(algo.hash, salted, []byte("Client Key")))
	storedKey := h.Sum(nil)
	auth := []byte(bare + "," + serverFirst + "," + withoutProof)
	sig := scramHMAC(algo.hash, storedKey, auth)
	for i := range proof {
		proof[i] ^= sig[i]
	}
	h = algo.hash()
	h.Write(proof)
	if !hmac.Equal(storedKey, h.Sum(nil)) {
		return "e=invalid-proof", false
	}
	return "v=" + base64.StdEncoding.EncodeToString(scramHMAC(algo.hash, scramHMAC(algo.hash, salted, []byte("Server Key")), auth)), true
}

func TestSCRAMSHA512AgainstServer(t *testing.T) {
	m := newSCRAM(scramSHA512, "a,b=c", "s3cret")
	sess, first, err := m.Start(context.Background())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(first), "n,,n=a=2Cb=3Dc,r="), string(first))
	final, ok := scramServer(t, scramSHA512, "s3cret", first, sess.(*scramSession))
	require.True(t, ok, "the server recovers the client key from the proof")
	done, _, err := sess.Next(context.Background(), []byte(final))
	require.NoError(t, err)
	require.True(t, done)
	_, _, err = sess.Next(context.Background(), nil)
	require.ErrorContains(t, err, "after the exchange was complete")

	// A server with another password refuses the proof.
	sess, first, err = m.Start(context.Background())
	require.NoError(t, err)
	final, ok = scramServer(t, scramSHA512, "wrong", first, sess.(*scramSession))
	require.False(t, ok)
	_, _, err = sess.Next(context.Background(), []byte(final))
	require.ErrorContains(t, err, "refused the credentials: invalid-proof")

	// A server that does not know the password cannot sign.
	sess, _, err = m.Start(context.Background())
	require.NoError(t, err)
	_, _, err = sess.Next(context.Background(), []byte("r="+sess.(*scramSession).clientNonce+"x,s=c2FsdA==,i=4096"))
	require.NoError(t, err)
	_, _, err = sess.Next(context.Background(), []byte("v="+base64.StdEncoding.EncodeToString(make([]byte, 64))))
	require.ErrorContains(t, err, "signature does not match")
}

func TestSCRAMRefusals(t *testing.T) {
	start := func() *scramSession {
		m := newSCRAM(scramSHA256, "u", "p")
		m.nonce = "abc"
		s, _, err := m.Start(context.Background())
		require.NoError(t, err)
		return s.(*scramSession)
	}
	for challenge, want := range map[string]string{
		"r=abcdef,s=c2FsdA==,i=4096,x": "",
		"r=xyz,s=c2FsdA==,i=4096":      "does not extend ours",
		"r=abc,s=c2FsdA==,i=4096":      "does not extend ours",
		"r=abcd,s=c2FsdA==,i=100":      "iteration count 100 is outside",
		"r=abcd,s=c2FsdA==,i=9999999":  "outside",
		"r=abcd,s=***,i=4096":          "salt is not base64",
		"r=abcd,s=,i=4096":             "lacks the salt",
		"r=abcd,s=c2FsdA==,x=1":        "lacks the iteration count",
		"r=abcd,s=c2FsdA==,i=four":     "is not a number",
		"m=ext,r=abcd,s=c2FsdA==,i=1":  "extension",
		"e=invalid-proof":              "malformed server-first",
		"":                             "malformed server-first",
	} {
		_, _, err := start().Next(context.Background(), []byte(challenge))
		if want == "" {
			require.NoError(t, err, challenge)
			continue
		}
		require.ErrorContains(t, err, want, challenge)
	}

	s := start()
	_, _, err := s.Next(context.Background(), []byte("r=abcd,s=c2FsdA==,i=4096"))
	require.NoError(t, err)
	_, _, err = s.Next(context.Background(), []byte("e=invalid-proof"))
	require.ErrorContains(t, err, "refused the credentials: invalid-proof")
}

func FuzzSCRAMServerFirst(f *testing.F) {
	f.Add([]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	f.Add([]byte("r=a,s=,i=1"))
	f.Add([]byte("m=x,r=a,s=c2FsdA==,i=4096,z=9"))
	f.Add([]byte(",,,"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, err := parseSCRAMServerFirst(msg)
		if err != nil {
			return
		}
		if got.nonce == "" || got.iterations < scramMinIterations || got.iterations > scramMaxIterations {
			t.Fatalf("accepted %q as %+v", msg, got)
		}
		if !strings.HasPrefix(string(msg), "r="+got.nonce+",s=") {
			t.Fatalf("nonce %q not taken from the r attribute of %q", got.nonce, msg)
		}
	})
}

func FuzzSCRAMServerFinal(f *testing.F) {
	f.Add([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
	f.Add([]byte("e=other-error"))
	f.Add([]byte("v=,x"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := &scramSession{serverSignature: []byte("0123456789abcdef0123456789abcdef"), step: 1}
		done, _, err := s.Next(context.Background(), msg)
		if err == nil && (!done || !strings.HasPrefix(string(msg), "v=")) {
			t.Fatalf("accepted %q", msg)
		}
	})
}
