// Package wire is the format of tocsin's records on Kafka: normalised
// events in a compact, versioned binary encoding (the hot path: ingest
// encodes every event, the engine and the history writer decode every
// one), alerts and parse failures as versioned JSON documents that people
// read with kcat, the record-type header that names each record's type
// and version, and the keys that place events on partitions.
//
// The byte-by-byte layout, the tag numbers and the rules for evolving the
// format are in docs/wire.md; the tag table in this package is the
// reference that document follows, and a test keeps the two in step.
//
// Compatibility: a new event field gets a new tag, and older readers skip
// tags they do not know, so adding fields needs no version change. A
// change that older readers would misread (a field's meaning or encoding,
// a new wire type) takes a new version byte and a new header value;
// readers refuse records of a version newer than theirs with an error
// wrapping ErrUnsupportedVersion rather than guess.
package wire
