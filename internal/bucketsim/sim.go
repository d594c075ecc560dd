package bucketsim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
)

// Config describes a simulated bucket.
type Config struct {
	// Sessions is the number of sessions, at least 1.
	Sessions int
	// BackupShare is the share of the sessions with a backup.
	BackupShare float64
	// ShrunkShare is the share of the sessions (of all of them, not of
	// those with a backup) that are shrunk: each has a backup with more
	// messages than its live document. At most BackupShare.
	ShrunkShare float64
	// MedianBytes is the median size of a session's full document; 0
	// gives sessiongen's default (24 KiB).
	MedianBytes int
	// Seed determines the ids, the documents and the throttled requests.
	Seed uint64
	// Bucket is the bucket's name; "" gives "sessions".
	Bucket string
	// Latency is added to every request before it is answered.
	Latency time.Duration
	// ThrottleShare is the share of requests answered 503 SlowDown,
	// chosen by the seed and the order in which requests arrive.
	ThrottleShare float64
	// PrefixRate, when above 0, is the number of requests a second that
	// each key prefix (the first PrefixBytes bytes of the key, or of a
	// listing's prefix) sustains; requests above it are answered 503
	// SlowDown. A prefix may spend one second's worth at once.
	PrefixRate float64
	// PrefixBytes is the length of the prefixes PrefixRate applies to;
	// 0 gives 1.
	PrefixBytes int
	// Hook, when set, is called with the kind of every request ("list",
	// "get", "head", "put", "copy", "delete", "other") as it arrives,
	// before its latency; it may block to hold the request.
	Hook func(kind string)

	now func() time.Time // the clock of PrefixRate; time.Now when nil
}

// Totals describes the synthetic objects of a bucket (not what was
// written since).
type Totals struct {
	Sessions, Backups, Shrunk int
	// Objects is Sessions + Backups; Bytes their total size.
	Objects int
	Bytes   int64
}

// poolSize is the number of sessions of each kind (no backup, a backup,
// shrunk) drawn with sessiongen, which the bucket's sessions share.
const poolSize = 64

// object is the bytes of one object, with what listings and reads tell.
type object struct {
	body  []byte
	etag  string // quoted, as S3 sends it
	crc32 string // the x-amz-checksum-crc32 of body
}

func newObject(body []byte) *object {
	sum := md5.Sum(body)
	crc := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body))
	return &object{body: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`, crc32: base64.StdEncoding.EncodeToString(crc)}
}

// kind of a session.
const (
	plain = iota // no backup
	backed
	shrunk
)

// template is one drawn session of the pool.
type template struct{ live, bak *object }

// bucket is the synthetic part of a simulated bucket.
type bucket struct {
	cfg    Config
	step   uint64 // between the ids of neighbouring sessions
	pool   [3][poolSize]template
	totals Totals
}

func newBucket(cfg Config) (*bucket, error) {
	switch {
	case cfg.Sessions < 1:
		return nil, fmt.Errorf("bucketsim: %d sessions: want at least 1", cfg.Sessions)
	case !(cfg.BackupShare >= 0 && cfg.BackupShare <= 1):
		return nil, fmt.Errorf("bucketsim: backup share %v: want 0 to 1", cfg.BackupShare)
	case !(cfg.ShrunkShare >= 0 && cfg.ShrunkShare <= cfg.BackupShare):
		return nil, fmt.Errorf("bucketsim: shrunk share %v: want 0 to the backup share, %v", cfg.ShrunkShare, cfg.BackupShare)
	case !(cfg.ThrottleShare >= 0 && cfg.ThrottleShare < 1):
		return nil, fmt.Errorf("bucketsim: throttle share %v: want 0 to 1 (excluded)", cfg.ThrottleShare)
	case cfg.MedianBytes < 0, cfg.Latency < 0, cfg.PrefixBytes < 0, !(cfg.PrefixRate >= 0):
		return nil, errors.New("bucketsim: MedianBytes, Latency, PrefixBytes and PrefixRate must not be negative")
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "sessions"
	}
	if cfg.PrefixBytes == 0 {
		cfg.PrefixBytes = 1
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	b := &bucket{cfg: cfg, step: math.MaxUint64 / uint64(cfg.Sessions)}
	shape := sessiongen.Default()
	shape.Seed = cfg.Seed
	if cfg.MedianBytes > 0 {
		shape.MedianBytes = cfg.MedianBytes
	}
	sizes := [3][poolSize]int64{}
	for k := range b.pool {
		for j := range b.pool[k] {
			_, live, bak := shape.Session(k*poolSize+j, k != plain, k == shrunk)
			t := template{live: newObject(live)}
			sizes[k][j] = int64(len(live))
			if bak != nil {
				t.bak = newObject(bak)
				sizes[k][j] += int64(len(bak))
			}
			b.pool[k][j] = t
		}
	}
	t := &b.totals
	for i := range cfg.Sessions {
		k, j := b.kind(i)
		t.Sessions++
		t.Objects++
		t.Bytes += sizes[k][j]
		if k != plain {
			t.Backups++
			t.Objects++
		}
		if k == shrunk {
			t.Shrunk++
		}
	}
	return b, nil
}

// mix is splitmix64's finaliser: a well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// kind returns session i's kind and its template in the pool.
func (b *bucket) kind(i int) (kind, tmpl int) {
	h := mix(b.cfg.Seed ^ mix(uint64(i)))
	u := unit(h)
	switch {
	case u < b.cfg.ShrunkShare:
		kind = shrunk
	case u < b.cfg.BackupShare:
		kind = backed
	}
	return kind, int(mix(h) % poolSize)
}

// id is session i's id as a number: i steps into the key space, and a
// hash of i within its step.
func (b *bucket) id(i int) uint64 {
	return uint64(i)*b.step + mix(b.cfg.Seed+uint64(i))%b.step
}

const (
	idLen     = 16
	liveExt   = ".json"
	backupExt = ".json.bak"
)

// key is the key of session i: its live document's, or its backup's.
func (b *bucket) key(i int, backup bool) string {
	var buf [idLen + len(backupExt)]byte
	return string(b.appendKey(buf[:0], i, backup))
}

func (b *bucket) appendKey(dst []byte, i int, backup bool) []byte {
	const digits = "0123456789abcdef"
	id := b.id(i)
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(id>>uint(shift))&0xf])
	}
	if backup {
		return append(dst, backupExt...)
	}
	return append(dst, liveExt...)
}

// lookup returns the synthetic object at key, or nil.
func (b *bucket) lookup(key string) *object {
	var backup bool
	switch {
	case len(key) == idLen+len(liveExt) && key[idLen:] == liveExt:
	case len(key) == idLen+len(backupExt) && key[idLen:] == backupExt:
		backup = true
	default:
		return nil
	}
	var id uint64
	for _, c := range []byte(key[:idLen]) {
		switch {
		case '0' <= c && c <= '9':
			id = id<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			id = id<<4 | uint64(c-'a'+10)
		default:
			return nil
		}
	}
	i64 := id / b.step
	if i64 >= uint64(b.cfg.Sessions) || b.id(int(i64)) != id {
		return nil
	}
	i := int(i64)
	k, j := b.kind(i)
	t := b.pool[k][j]
	if backup {
		return t.bak // nil without one
	}
	return t.live
}

// pos is a place among the synthetic keys: session i's live document, or
// its backup; i == Sessions is the end.
type pos struct {
	i      int
	backup bool
}

// seek returns the first synthetic key at or after lo.
func (b *bucket) seek(lo string) pos {
	var buf [idLen + len(backupExt)]byte
	n := b.cfg.Sessions
	// The last key of session i grows with i: find the first that is not
	// below lo.
	last := func(i int) []byte {
		k, _ := b.kind(i)
		return b.appendKey(buf[:0], i, k != plain)
	}
	lo0, hi := 0, n
	for lo0 < hi {
		mid := int(uint(lo0+hi) >> 1)
		if string(last(mid)) < lo {
			lo0 = mid + 1
		} else {
			hi = mid
		}
	}
	if lo0 == n {
		return pos{i: n}
	}
	if string(b.appendKey(buf[:0], lo0, false)) >= lo {
		return pos{i: lo0}
	}
	return pos{i: lo0, backup: true}
}

// next returns the place after p.
func (b *bucket) next(p pos) pos {
	if !p.backup {
		if k, _ := b.kind(p.i); k != plain {
			return pos{i: p.i, backup: true}
		}
	}
	return pos{i: p.i + 1}
}

// at returns the key and object at p; ok is false at the end.
func (b *bucket) at(p pos) (key string, obj *object, ok bool) {
	if p.i >= b.cfg.Sessions {
		return "", nil, false
	}
	k, j := b.kind(p.i)
	t := b.pool[k][j]
	if p.backup {
		return b.key(p.i, true), t.bak, true
	}
	return b.key(p.i, false), t.live, true
}
