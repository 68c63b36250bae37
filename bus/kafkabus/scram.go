package kafkabus

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
)

// SCRAM (RFC 5802) client for Kafka's SCRAM-SHA-256 and SCRAM-SHA-512,
// written on the standard library so that the module needs no SCRAM
// dependency. Like Kafka's own Java client it sends names and passwords
// as UTF-8 without SASLprep normalisation, and it neither offers nor
// accepts channel binding.

type scramAlgo struct {
	name string
	hash func() hash.Hash
}

var (
	scramSHA256 = scramAlgo{name: "SCRAM-SHA-256", hash: sha256.New}
	scramSHA512 = scramAlgo{name: "SCRAM-SHA-512", hash: sha512.New}
)

// Iteration bounds: Kafka refuses fewer than 4096, and a server asking for
// millions would make every connection burn seconds of CPU.
const (
	scramMinIterations = 4096
	scramMaxIterations = 1 << 20
)

type scramMechanism struct {
	algo     scramAlgo
	user     string
	password string
	// nonce, when set, replaces the random client nonce (tests).
	nonce string
}

func newSCRAM(algo scramAlgo, user, password string) scramMechanism {
	return scramMechanism{algo: algo, user: user, password: password}
}

// Name implements sasl.Mechanism.
func (m scramMechanism) Name() string { return m.algo.name }

// Start implements sasl.Mechanism: it sends the client-first message.
func (m scramMechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	nonce := m.nonce
	if nonce == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, fmt.Errorf("scram: cannot make a nonce: %w", err)
		}
		nonce = base64.RawStdEncoding.EncodeToString(b[:])
	}
	s := &scramSession{m: m, clientNonce: nonce}
	s.clientFirstBare = "n=" + scramEscape(m.user) + ",r=" + nonce
	return s, []byte("n,," + s.clientFirstBare), nil
}

// scramEscape encodes '=' and ',' in a user name as RFC 5802 asks.
func scramEscape(s string) string {
	if !strings.ContainsAny(s, "=,") {
		return s
	}
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

type scramSession struct {
	m               scramMechanism
	clientNonce     string
	clientFirstBare string
	step            int
	serverSignature []byte
}

// Next implements sasl.StateMachine.
func (s *scramSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	switch s.step {
	case 0:
		s.step++
		resp, err := s.clientFinal(challenge)
		return false, resp, err
	case 1:
		s.step++
		return true, nil, s.verifyServerFinal(challenge)
	}
	return false, nil, errors.New("scram: the server sent a message after the exchange was complete")
}

// scramServerFirst is the parsed server-first message.
type scramServerFirst struct {
	nonce      string
	salt       []byte
	iterations int
}

// parseSCRAMServerFirst parses "r=NONCE,s=SALT,i=ITERATIONS[,ext...]".
func parseSCRAMServerFirst(msg []byte) (scramServerFirst, error) {
	var f scramServerFirst
	attrs := strings.Split(string(msg), ",")
	if len(attrs) < 3 {
		return f, fmt.Errorf("scram: malformed server-first message (%d attributes, want r, s and i)", len(attrs))
	}
	if strings.HasPrefix(attrs[0], "m=") {
		return f, errors.New("scram: the server requires an extension this client does not support")
	}
	var ok bool
	if f.nonce, ok = strings.CutPrefix(attrs[0], "r="); !ok || f.nonce == "" {
		return f, errors.New("scram: server-first message lacks the nonce (r=)")
	}
	salt, ok := strings.CutPrefix(attrs[1], "s=")
	if !ok || salt == "" {
		return f, errors.New("scram: server-first message lacks the salt (s=)")
	}
	var err error
	if f.salt, err = base64.StdEncoding.DecodeString(salt); err != nil {
		return f, fmt.Errorf("scram: the salt is not base64: %v", err)
	}
	iter, ok := strings.CutPrefix(attrs[2], "i=")
	if !ok {
		return f, errors.New("scram: server-first message lacks the iteration count (i=)")
	}
	if f.iterations, err = strconv.Atoi(iter); err != nil {
		return f, fmt.Errorf("scram: iteration count %q is not a number", iter)
	}
	if f.iterations < scramMinIterations || f.iterations > scramMaxIterations {
		return f, fmt.Errorf("scram: iteration count %d is outside %d-%d", f.iterations, scramMinIterations, scramMaxIterations)
	}
	return f, nil
}

func (s *scramSession) clientFinal(serverFirst []byte) ([]byte, error) {
	f, err := parseSCRAMServerFirst(serverFirst)
	if err != nil {
		return nil, err
	}
	if len(f.nonce) <= len(s.clientNonce) || !strings.HasPrefix(f.nonce, s.clientNonce) {
		return nil, errors.New("scram: the server's nonce does not extend ours; refusing to continue")
	}
	h := s.m.algo.hash
	salted, err := pbkdf2.Key(h, s.m.password, f.salt, f.iterations, h().Size())
	if err != nil {
		return nil, fmt.Errorf("scram: cannot derive the key: %w", err)
	}
	clientKey := scramHMAC(h, salted, []byte("Client Key"))
	storedKey := h()
	storedKey.Write(clientKey)
	withoutProof := "c=biws,r=" + f.nonce
	authMessage := []byte(s.clientFirstBare + "," + string(serverFirst) + "," + withoutProof)
	proof := scramHMAC(h, storedKey.Sum(nil), authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	serverKey := scramHMAC(h, salted, []byte("Server Key"))
	s.serverSignature = scramHMAC(h, serverKey, authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func (s *scramSession) verifyServerFinal(msg []byte) error {
	attr, _, _ := bytes.Cut(msg, []byte(","))
	if e, ok := bytes.CutPrefix(attr, []byte("e=")); ok {
		return fmt.Errorf("scram: the broker refused the credentials: %s", e)
	}
	v, ok := bytes.CutPrefix(attr, []byte("v="))
	if !ok {
		return errors.New("scram: malformed server-final message (no v=)")
	}
	sig := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
	n, err := base64.StdEncoding.Decode(sig, v)
	if err != nil {
		return fmt.Errorf("scram: the server signature is not base64: %v", err)
	}
	if subtle.ConstantTimeCompare(sig[:n], s.serverSignature) != 1 {
		return errors.New("scram: the server's signature does not match; the broker does not know this password (or is not the broker it claims to be)")
	}
	return nil
}

func scramHMAC(h func() hash.Hash, key, msg []byte) []byte {
	mac := hmac.New(h, key)
	mac.Write(msg)
	return mac.Sum(nil)
}
