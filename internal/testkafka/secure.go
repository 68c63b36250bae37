package testkafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// SecureBroker is a private broker with authenticated listeners besides
// its plaintext one.
type SecureBroker struct {
	Broker
	// SASLAddr is a SASL_PLAINTEXT listener taking PLAIN, SCRAM-SHA-256
	// and SCRAM-SHA-512.
	SASLAddr string
	// SASLSSLAddr is a SASL_SSL listener with the same mechanisms, whose
	// certificate (for 127.0.0.1 and localhost) is signed by CAFile.
	SASLSSLAddr string
	// CAFile is the PEM certificate of the authority that signed the
	// broker's certificate.
	CAFile string
	// User and Password are accepted by every mechanism.
	User, Password string
}

// StartSecure starts a broker for t alone with SASL and TLS listeners and
// stops it when t ends. It starts the broker with kafka.sh, stops it,
// adds the listeners to its server.properties, starts it again on the
// same data and creates the SCRAM credentials; about 8 s.
func StartSecure(t testing.TB) *SecureBroker {
	t.Helper()
	b := StartPrivate(t)
	sb := &SecureBroker{Broker: *b, User: "tocsin", Password: "tocsin-secret"}
	if err := sb.secure(); err != nil {
		t.Fatalf("testkafka: cannot add SASL and TLS listeners to the broker in %s: %v", b.Dir, err)
	}
	return sb
}

func (sb *SecureBroker) secure() error {
	sh, err := script()
	if err != nil {
		return err
	}
	if err := stopOnly(sh, sb.Dir); err != nil {
		return err
	}
	saslPort, err := freePort()
	if err != nil {
		return err
	}
	sslPort, err := freePort()
	if err != nil {
		return err
	}
	sb.SASLAddr = "127.0.0.1:" + strconv.Itoa(saslPort)
	sb.SASLSSLAddr = "127.0.0.1:" + strconv.Itoa(sslPort)
	keystore, err := sb.writeCerts()
	if err != nil {
		return err
	}
	props, err := os.ReadFile(filepath.Join(sb.Dir, "server.properties"))
	if err != nil {
		return err
	}
	get := func(key string) string {
		for _, l := range strings.Split(string(props), "\n") {
			if v, ok := strings.CutPrefix(l, key+"="); ok {
				return v
			}
		}
		return ""
	}
	plain := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required user_%s="%s";`, sb.User, sb.Password)
	scram := `org.apache.kafka.common.security.scram.ScramLoginModule required;`
	var extra strings.Builder
	// Later keys override earlier ones when Java loads the file.
	fmt.Fprintf(&extra, "\nlisteners=%s,SASL_PLAINTEXT://%s,SASL_SSL://%s\n", get("listeners"), sb.SASLAddr, sb.SASLSSLAddr)
	fmt.Fprintf(&extra, "advertised.listeners=%s,SASL_PLAINTEXT://%s,SASL_SSL://%s\n", get("advertised.listeners"), sb.SASLAddr, sb.SASLSSLAddr)
	fmt.Fprintf(&extra, "listener.security.protocol.map=%s,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n", get("listener.security.protocol.map"))
	extra.WriteString("sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n")
	for _, l := range []string{"sasl_plaintext", "sasl_ssl"} {
		fmt.Fprintf(&extra, "listener.name.%s.plain.sasl.jaas.config=%s\n", l, plain)
		fmt.Fprintf(&extra, "listener.name.%s.scram-sha-256.sasl.jaas.config=%s\n", l, scram)
		fmt.Fprintf(&extra, "listener.name.%s.scram-sha-512.sasl.jaas.config=%s\n", l, scram)
	}
	fmt.Fprintf(&extra, "ssl.keystore.type=PEM\nssl.keystore.location=%s\n", keystore)
	f, err := os.OpenFile(filepath.Join(sb.Dir, "server.properties"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(extra.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if sb.PID, err = restart(sh, sb.Dir, sb.SASLAddr); err != nil {
		return err
	}
	return sb.addSCRAMUsers()
}

// stopOnly stops the broker and keeps its folder.
func stopOnly(sh, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", sh, "stop", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("stop: %v: %s", err, lastLines(string(out), 5))
	}
	return nil
}

// restart runs the broker again on its formatted data, as kafka.sh does,
// and waits until it serves addr.
func restart(sh, dir, addr string) (int, error) {
	out, err := exec.Command("bash", sh, "fetch").Output()
	if err != nil {
		return 0, fmt.Errorf("kafka.sh fetch: %v", err)
	}
	jars := strings.TrimSpace(string(out))
	logf, err := os.OpenFile(filepath.Join(dir, "kafka.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	before, _ := os.ReadFile(filepath.Join(dir, "kafka.log"))
	heap := strings.Fields(os.Getenv("KAFKA_HEAP_OPTS"))
	if len(heap) == 0 {
		heap = []string{"-Xms256m", "-Xmx512m"}
	}
	args := append(heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile="+filepath.Join(dir, "log4j2.properties"),
		"-cp", jars+"/*", "kafka.Kafka", filepath.Join(dir, "server.properties"))
	cmd := exec.Command("java", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }()
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return pid, err
	}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			break
		}
		logText, _ := os.ReadFile(filepath.Join(dir, "kafka.log"))
		if strings.Count(string(logText), "Kafka Server started") > strings.Count(string(before), "Kafka Server started") {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return pid, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return pid, fmt.Errorf("the broker did not start again with the new listeners (log: %s/kafka.log)", dir)
}

// writeCerts writes a CA and a broker certificate for 127.0.0.1 and
// localhost, and returns the broker's PEM keystore (key, then chain).
func (sb *SecureBroker) writeCerts() (string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tocsin test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	sb.CAFile = filepath.Join(sb.Dir, "ca.pem")
	if err := os.WriteFile(sb.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return "", err
	}
	keystore := filepath.Join(sb.Dir, "broker-keystore.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	return keystore, os.WriteFile(keystore, data, 0o600)
}

// addSCRAMUsers creates the SCRAM credentials through the plaintext
// listener (the broker has no authorizer).
func (sb *SecureBroker) addSCRAMUsers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	salt := []byte("tocsin-test-salt")
	var ups []kafka.UserScramCredentialsUpsertion
	for _, m := range []struct {
		mech kafka.ScramMechanism
		h    func() hash.Hash
	}{{kafka.ScramMechanismSha256, sha256.New}, {kafka.ScramMechanismSha512, sha512.New}} {
		salted, err := pbkdf2.Key(m.h, sb.Password, salt, 4096, m.h().Size())
		if err != nil {
			return err
		}
		ups = append(ups, kafka.UserScramCredentialsUpsertion{Name: sb.User, Mechanism: m.mech, Iterations: 4096, Salt: salt, SaltedPassword: salted})
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(sb.Addr), Transport: tr, Timeout: 10 * time.Second}
	// One request per mechanism: the broker refuses two changes to one
	// user in a request.
	for _, up := range ups {
		var err error
		for i := 0; i < 50; i++ {
			var res *kafka.AlterUserScramCredentialsResponse
			res, err = client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{Upsertions: []kafka.UserScramCredentialsUpsertion{up}})
			if err == nil {
				for _, r := range res.Results {
					if r.Error != nil {
						err = r.Error
					}
				}
			}
			if err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("cannot create the SCRAM credentials: %w", err)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
