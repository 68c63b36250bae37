package spool

// memChunkBytes is the size of one slab chunk. A record bigger than this
// gets a chunk of its own size, which is not recycled.
const memChunkBytes = 1 << 20

// spareChunks is how many emptied chunks (16 MiB at most) are kept for
// reuse; more go to the garbage collector. Fewer made a publisher that
// runs ahead of the Sink in bursts allocate a chunk per megabyte.
const spareChunks = 16

// memory is the memory tier: a ring of records whose bytes live in a FIFO
// of slab chunks. Publishing a record copies its key and value once into
// the newest chunk; the ring entry points at that copy. Records leave in
// ring order, so chunks empty in FIFO order too. Not safe for concurrent
// use; Buffer's mutex guards it.
type memory struct {
	ring []Record
	head int // oldest record
	n    int // records held, the in-flight batch included

	chunks    []*chunk // oldest first; the last one is being filled
	spare     []*chunk
	chunkSize int
	limit     int64 // bytes of chunks allowed
	alloc     int64 // bytes of chunks held, spares included

	bytes  int64 // key and value bytes held
	framed int64 // frame bytes the held records would take on disk
}

type chunk struct {
	buf     []byte
	pending int // records in this chunk not yet delivered
}

func newMemory(records int, limit int64) memory {
	return memory{
		ring:      make([]Record, records),
		chunkSize: int(min(limit, memChunkBytes)),
		limit:     limit,
	}
}

// fits reports whether a record of size bytes (key plus value) would be
// taken while the framed total stays within maxFramed.
func (m *memory) fits(size int, maxFramed int64) bool {
	if m.n == len(m.ring) || m.framed+frameHeaderLen+int64(size) > maxFramed {
		return false
	}
	if len(m.chunks) > 0 {
		if c := m.chunks[len(m.chunks)-1]; cap(c.buf)-len(c.buf) >= size {
			return true
		}
	}
	if size > m.chunkSize {
		return m.alloc+int64(size) <= m.limit
	}
	return len(m.spare) > 0 || m.alloc+int64(m.chunkSize) <= m.limit
}

// put copies a record in. It returns false, changing nothing, when the
// record does not fit.
func (m *memory) put(key, value []byte, maxFramed int64) bool {
	size := len(key) + len(value)
	if !m.fits(size, maxFramed) {
		return false
	}
	var c *chunk
	if len(m.chunks) > 0 {
		c = m.chunks[len(m.chunks)-1]
	}
	if c == nil || cap(c.buf)-len(c.buf) < size {
		c = m.newChunk(size)
	}
	start := len(c.buf)
	c.buf = append(c.buf, key...)
	c.buf = append(c.buf, value...)
	rec := &m.ring[(m.head+m.n)%len(m.ring)]
	rec.Key, rec.Value = nil, nil
	if k := start + len(key); len(key) > 0 {
		rec.Key = c.buf[start:k:k]
	}
	if len(value) > 0 {
		rec.Value = c.buf[start+len(key) : start+size : start+size]
	}
	c.pending++
	m.n++
	m.bytes += int64(size)
	m.framed += frameHeaderLen + int64(size)
	return true
}

// newChunk appends a chunk with room for size bytes; fits has checked
// that one is allowed.
func (m *memory) newChunk(size int) *chunk {
	var c *chunk
	switch {
	case size > m.chunkSize:
		c = &chunk{buf: make([]byte, 0, size)}
		m.alloc += int64(size)
	case len(m.spare) > 0:
		c = m.spare[len(m.spare)-1]
		m.spare = m.spare[:len(m.spare)-1]
	default:
		c = &chunk{buf: make([]byte, 0, m.chunkSize)}
		m.alloc += int64(m.chunkSize)
	}
	m.chunks = append(m.chunks, c)
	return c
}

// take returns up to max of the oldest records without removing them.
// The slice is part of the ring: it stays valid until release.
func (m *memory) take(max int) []Record {
	k := min(m.n, len(m.ring)-m.head, max)
	return m.ring[m.head : m.head+k]
}

// release drops the k oldest records, once they were delivered.
func (m *memory) release(k int) {
	for i := range k {
		rec := &m.ring[(m.head+i)%len(m.ring)]
		size := int64(len(rec.Key) + len(rec.Value))
		m.bytes -= size
		m.framed -= frameHeaderLen + size
		*rec = Record{}
	}
	m.head = (m.head + k) % len(m.ring)
	m.n -= k
	for len(m.chunks) > 0 {
		c := m.chunks[0]
		t := min(c.pending, k)
		c.pending -= t
		k -= t
		if c.pending > 0 {
			break
		}
		if len(m.chunks) == 1 {
			// The chunk being filled: start it over.
			c.buf = c.buf[:0]
			break
		}
		m.chunks[0] = nil
		m.chunks = m.chunks[1:]
		m.recycle(c)
	}
}

func (m *memory) recycle(c *chunk) {
	if cap(c.buf) == m.chunkSize && len(m.spare) < spareChunks {
		c.buf = c.buf[:0]
		m.spare = append(m.spare, c)
		return
	}
	m.alloc -= int64(cap(c.buf))
}

// each calls f for every record held, oldest first.
func (m *memory) each(f func(Record) error) error {
	for i := range m.n {
		if err := f(m.ring[(m.head+i)%len(m.ring)]); err != nil {
			return err
		}
	}
	return nil
}
