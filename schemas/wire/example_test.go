package wire_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// A producer encodes into a reused buffer and keys the record; a consumer
// checks the header and decodes.
func Example() {
	line := "<38>Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 203.0.113.7 port 40222 ssh2"
	ev := schemas.Event{Timestamp: time.Date(2025, 12, 10, 6, 55, 48, 0, time.UTC), Message: line[37:]}
	ev.Event.Original = line
	ip := strings.Index(line, "203.0.113.7")
	ev.Source.IP = line[ip : ip+len("203.0.113.7")] // parsers cut fields out of the line

	keyer, err := wire.NewKeyer(wire.DefaultKeyFields)
	if err != nil {
		panic(err)
	}
	var value, key []byte
	value = wire.AppendEvent(value[:0], &ev)
	key, _ = keyer.Key(key[:0], &ev)
	header := wire.TypeEvent // sent as the wire.HeaderType header

	if typ, version, ok := wire.ParseType(header); !ok || typ != wire.RecordEvent || version > wire.EventVersion {
		panic("not an event this reader knows")
	}
	var got schemas.Event
	if err := wire.DecodeEvent(value, &got); err != nil {
		panic(err)
	}
	fmt.Printf("key %s, %d bytes, source %s at %s\n", key, len(value), got.Source.IP, got.Timestamp.Format(time.RFC3339Nano))
	// Output: key 203.0.113.7, 115 bytes, source 203.0.113.7 at 2025-12-10T06:55:48Z
}

func ExampleSniff() {
	for _, value := range [][]byte{
		{0xfe, 'E', 1, 0},
		[]byte(`{"v":"alert/1","id":"x"}`),
		[]byte("<38>Dec 10 06:55:48 web1 sshd[4242]: hello"),
	} {
		typ, version, ok := wire.Sniff(value)
		fmt.Println(typ, version, ok)
	}
	// Output:
	// event 1 true
	// alert 1 true
	//  0 false
}
