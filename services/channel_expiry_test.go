package services

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fired records when each key fired, in the bubble's fake time.
type fired struct {
	mu  sync.Mutex // Run's goroutine writes, the test reads
	got map[expiryKey][]time.Time
}

func (f *fired) fire(_ context.Context, k expiryKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[k] = append(f.got[k], time.Now())
}

func (f *fired) times(k expiryKey) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.got[k]...)
}

func TestExpiryQueueFiresExactlyOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newExpiryQueue()
		f := &fired{got: map[expiryKey][]time.Time{}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); q.Run(ctx, f.fire) }()

		start := time.Now()
		a := expiryKey{"c1", "u1", SanctionBan}
		b := expiryKey{"c1", "u2", SanctionMute}
		c := expiryKey{"c2", "u1", SanctionMute}
		d := expiryKey{"c3", "u3", SanctionBan}
		q.Schedule(a, start.Add(90*time.Second))
		q.Schedule(b, start.Add(30*time.Second))
		q.Schedule(c, start.Add(10*time.Second))
		q.Schedule(c, start.Add(50*time.Second)) // replaced: fires at 50 s only
		q.Schedule(d, start.Add(20*time.Second))
		q.Cancel(d) // cancelled: never fires

		time.Sleep(29 * time.Second)
		synctest.Wait()
		if len(f.times(b)) != 0 || len(f.times(c)) != 0 {
			t.Fatalf("fired early: %v", f.got)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		want := map[expiryKey]time.Duration{a: 90 * time.Second, b: 30 * time.Second, c: 50 * time.Second}
		for k, at := range want {
			got := f.times(k)
			if len(got) != 1 || got[0].Sub(start) != at {
				t.Errorf("%v fired at %v, want once at +%v", k, got, at)
			}
		}
		if got := f.times(d); len(got) != 0 {
			t.Errorf("cancelled entry fired at %v", got)
		}
		if n := q.Pending(); n != 0 {
			t.Errorf("%d still pending", n)
		}
		// Scheduled after an idle period: the loop wakes for it.
		e := expiryKey{"c4", "u4", SanctionBan}
		q.Schedule(e, time.Now().Add(5*time.Second))
		at := time.Now()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := f.times(e); len(got) != 1 || got[0].Sub(at) != 5*time.Second {
			t.Errorf("late entry fired at %v", got)
		}
		cancel()
		<-done
	})
}

func TestExpiryQueueCancelChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newExpiryQueue()
		f := &fired{got: map[expiryKey][]time.Time{}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); q.Run(ctx, f.fire) }()
		keep := expiryKey{"c2", "u1", SanctionBan}
		q.Schedule(expiryKey{"c1", "u1", SanctionBan}, time.Now().Add(time.Second))
		q.Schedule(expiryKey{"c1", "u2", SanctionMute}, time.Now().Add(time.Second))
		q.Schedule(keep, time.Now().Add(time.Second))
		q.CancelChannel("c1")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if len(f.got) != 1 || len(f.times(keep)) != 1 {
			t.Fatalf("fired %v, want only %v", f.got, keep)
		}
		cancel()
		<-done
	})
}
