// Package hist is a lock-free log-linear latency histogram (HDR-like: 16
// sub-buckets per power of two, so a reported quantile is within about 6%
// of the true value). Record does not allocate.
package hist

import (
	"math/bits"
	"sync/atomic"
)

const sub = 16 // sub-buckets per power of two (4 mantissa bits)

// Histogram counts non-negative int64 values (nanoseconds).
type Histogram struct {
	counts [64 * sub]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

func index(v int64) int {
	if v < sub {
		return int(v)
	}
	u := uint64(v)
	e := bits.Len64(u) - 5 // shift that keeps 5 significant bits
	return (e+1)*sub + int(u>>uint(e)) - sub
}

// lower returns the smallest value of bucket i.
func lower(i int) int64 {
	if i < sub {
		return int64(i)
	}
	e := i/sub - 1
	m := int64(i%sub + sub)
	return m << uint(e)
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the largest value recorded.
func (h *Histogram) Max() int64 { return h.max.Load() }

// Quantile returns the value at quantile q (0..1): the midpoint of the
// bucket holding it, or 0 if nothing was recorded.
func (h *Histogram) Quantile(q float64) int64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := lower(i), lower(i+1)
			mid := lo + (hi-lo)/2
			if m := h.max.Load(); mid > m {
				mid = m
			}
			return mid
		}
	}
	return h.max.Load()
}

// Reset forgets every value. It must not run concurrently with Record.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.max.Store(0)
}
