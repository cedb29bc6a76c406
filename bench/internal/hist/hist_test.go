package hist

import (
	"math"
	"testing"
)

func TestBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 15, 16, 17, 31, 32, 100, 1000, 123456789, math.MaxInt64 / 2} {
		i := index(v)
		if lo, hi := lower(i), lower(i+1); v < lo || v >= hi {
			t.Errorf("value %d in bucket %d = [%d,%d)", v, i, lo, hi)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100000; v++ {
		h.Record(v * 1000) // 1 µs .. 100 ms
	}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 50e6}, {0.99, 99e6}} {
		got := float64(h.Quantile(c.q))
		if math.Abs(got-c.want)/c.want > 0.07 {
			t.Errorf("q%.2f = %.0f, want about %.0f", c.q, got, c.want)
		}
	}
	if h.Count() != 100000 || h.Max() != 100e6 {
		t.Errorf("count %d max %d", h.Count(), h.Max())
	}
	if allocs := testing.AllocsPerRun(100, func() { h.Record(12345) }); allocs != 0 {
		t.Errorf("Record allocates %.0f times", allocs)
	}
}
