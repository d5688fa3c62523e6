package adashta

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// newNodeID is a mesh member id: 32 hex characters from the OS's CSPRNG. A node id is what
// a member answers to, so it must not be guessable.
func newNodeID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("adashta: the OS random source failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ids makes message ids as the edge does (common/src/ids.cpp): 26 Crockford base32
// characters, 10 of milliseconds since the epoch and 16 of randomness, increasing within
// the process (same millisecond: the previous random part plus one).
var ids struct {
	sync.Mutex
	lastMs int64
	hi     uint64 // top 16 of the 80 random bits
	lo     uint64 // low 64 of the 80 random bits
}

func newMessageID() string {
	ms := time.Now().UnixMilli()
	ids.Lock()
	defer ids.Unlock()
	if ms <= ids.lastMs {
		ms = ids.lastMs
		ids.lo++
		if ids.lo == 0 {
			ids.hi = (ids.hi + 1) & 0xFFFF
		}
	} else {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("adashta: the OS random source failed: " + err.Error())
		}
		ids.lastMs = ms
		ids.hi = uint64(binary.BigEndian.Uint16(b[:2])) & 0x7FFF // headroom: increments never wrap
		ids.lo = binary.BigEndian.Uint64(b[2:])
	}
	var out [26]byte
	t := uint64(ms)
	for i := 9; i >= 0; i-- {
		out[i] = crockford[t&31]
		t >>= 5
	}
	l, h := ids.lo, ids.hi
	for i := 25; i >= 10; i-- {
		out[i] = crockford[l&31]
		l = (l >> 5) | ((h & 31) << 59)
		h >>= 5
	}
	return string(out[:])
}

// validQueueName: 1 to 128 characters from A-Z a-z 0-9 . _ : / -.
func validQueueName(q string) bool {
	if len(q) == 0 || len(q) > 128 {
		return false
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '/' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
