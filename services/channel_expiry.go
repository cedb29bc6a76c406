package services

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Sanction is a timed restriction of a channel member.
type Sanction string

// Sanctions.
const (
	SanctionBan  Sanction = "ban"
	SanctionMute Sanction = "mute"
)

// expiryKey names one member's sanction.
type expiryKey struct {
	ChannelID string
	UserID    string
	Kind      Sanction
}

// expiryItem is a heap entry: key expires at At.
type expiryItem struct {
	key expiryKey
	at  time.Time
}

// expiryHeap is a min-heap of items by time.
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// expiryQueue schedules sanction expiries: one goroutine (Run) owns a
// single timer armed for the earliest deadline of a min-heap. Schedule and
// Cancel only touch the heap under mu and wake the loop; the loop calls
// fire outside the lock. Cancelled or replaced entries stay in the heap
// and are skipped when they surface (latest records the live deadline).
type expiryQueue struct {
	mu     sync.Mutex // guards items and latest; never held across fire
	items  expiryHeap
	latest map[expiryKey]time.Time

	wake chan struct{} // capacity 1: "the earliest deadline may have changed"
}

func newExpiryQueue() *expiryQueue {
	return &expiryQueue{latest: map[expiryKey]time.Time{}, wake: make(chan struct{}, 1)}
}

// Schedule arms (or re-arms) key to expire at at, replacing an earlier
// schedule of the same key.
func (q *expiryQueue) Schedule(key expiryKey, at time.Time) {
	q.mu.Lock()
	q.latest[key] = at
	heap.Push(&q.items, expiryItem{key: key, at: at})
	q.mu.Unlock()
	q.poke()
}

// Cancel forgets key's schedule.
func (q *expiryQueue) Cancel(key expiryKey) {
	q.mu.Lock()
	delete(q.latest, key)
	q.mu.Unlock()
}

// CancelChannel forgets every schedule of a channel.
func (q *expiryQueue) CancelChannel(channelID string) {
	q.mu.Lock()
	for k := range q.latest {
		if k.ChannelID == channelID {
			delete(q.latest, k)
		}
	}
	q.mu.Unlock()
}

// Pending returns how many live schedules there are.
func (q *expiryQueue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.latest)
}

func (q *expiryQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// due pops the live entries whose time has come and returns them with the
// wait until the next one (negative: none left).
func (q *expiryQueue) due(now time.Time) ([]expiryKey, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []expiryKey
	for q.items.Len() > 0 {
		it := q.items[0]
		if at, live := q.latest[it.key]; !live || !at.Equal(it.at) {
			heap.Pop(&q.items) // cancelled or replaced
			continue
		}
		if it.at.After(now) {
			return out, it.at.Sub(now)
		}
		heap.Pop(&q.items)
		delete(q.latest, it.key)
		out = append(out, it.key)
	}
	return out, -1
}

// Run fires each entry when its time comes, until ctx is done. fire runs
// on this goroutine, one at a time.
func (q *expiryQueue) Run(ctx context.Context, fire func(context.Context, expiryKey)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		keys, wait := q.due(time.Now())
		for _, k := range keys {
			fire(ctx, k)
		}
		if len(keys) > 0 {
			continue // firing took time: look again
		}
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}
