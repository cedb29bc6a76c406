package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/hist"
	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

// runFanout is "one event to a room of N sockets", built from what the
// product has: user U opens N /appGateway sockets (all in the room
// user:<U>), and user S, on one /appGateway socket, emits
// RequestFriendShip {userId: S, friendId: U, stats: <stamp>} at cfg.Rate.
// Both servers relay it to the rooms of S and U: N+1 deliveries per emit,
// with no database work on the way.
func runFanout(ctx context.Context, cfg Config) (Result, error) {
	var r Result
	if cfg.N < 1 {
		return r, errNoUsers
	}
	if cfg.Rate <= 0 {
		return r, fmt.Errorf("fanout needs a rate > 0")
	}
	a := newAPI(cfg)
	defer a.close()
	ids, err := a.createUsers(ctx, 2, cfg.Workers)
	if err != nil {
		return r, fmt.Errorf("create users: %w", err)
	}
	sender := &user{idx: -1, id: ids[0]}
	receivers := make([]*user, cfg.N)
	for i := range receivers {
		receivers[i] = &user{idx: i, id: ids[1]}
	}
	defer closeAll(receivers, cfg.Workers)
	defer sender.close()

	var (
		measuring      atomic.Bool
		got, exception atomic.Int64
		lat            hist.Histogram
	)
	h := func(c *sio.Conn, i int, frame []byte, now int64) {
		pl := c.PrefixLen(i)
		switch {
		case sio.EventIs(frame, pl, "RequestFriendShip"):
			if !measuring.Load() {
				return
			}
			got.Add(1)
			if t := stamp(frame); t > 0 {
				lat.Record(now - t)
			}
		case sio.EventIs(frame, pl, "exception"):
			exception.Add(1)
		}
	}
	fmt.Fprintf(cfg.Log, "fanout: connecting %d sockets of one user\n", cfg.N)
	app := []string{appNsp}
	failed, ferr := dialAll(ctx, cfg, receivers, app, h)
	r.ConnectErrs = failed
	if failed > 0 {
		return r, fmt.Errorf("%d of %d sockets failed to connect: %v", failed, cfg.N, ferr)
	}
	if err := dialUser(ctx, cfg, sender, app, h); err != nil {
		return r, fmt.Errorf("sender: %w", err)
	}
	r.Sockets, r.Conns = cfg.N+1, cfg.N+1
	time.Sleep(500 * time.Millisecond)

	t := newTemplate(`42` + appNsp + `,["RequestFriendShip",{"userId":"` + sender.id + `","friendId":"` +
		ids[1] + `","stats":"` + stampSlot() + `"}]`)
	perEmit := int64(cfg.N + 1)
	var writeErrs atomic.Int64
	send := func(int64) {
		putStamp(t.b, t.at, time.Now().UnixNano())
		if sender.app.write(t.b) != nil {
			writeErrs.Add(1)
		}
	}
	measuring.Store(true)
	if cfg.Warmup > 0 {
		fmt.Fprintf(cfg.Log, "fanout: warming up for %v\n", cfg.Warmup)
		w := pace(ctx, cfg.Rate, cfg.Warmup, send) - writeErrs.Load()
		waitFor(ctx, 10*time.Second, func() bool { return got.Load() >= w*perEmit })
		time.Sleep(200 * time.Millisecond)
		got.Store(0)
		writeErrs.Store(0)
		lat.Reset()
	}
	fmt.Fprintf(cfg.Log, "fanout: %.0f emits/s to %d sockets for %v\n", cfg.Rate, cfg.N+1, cfg.Duration)
	s1 := sample(cfg.PID)
	r.RSSBeforeKB = s1.RSSKB
	sent := pace(ctx, cfg.Rate, cfg.Duration, send)
	sent -= writeErrs.Load()
	expected := sent * perEmit
	waitFor(ctx, 10*time.Second, func() bool { return got.Load() >= expected })
	s2 := sample(cfg.PID)

	r.Rate = cfg.Rate
	r.Sent = sent
	r.Expected = expected
	r.Delivered = got.Load()
	r.ByEvent = map[string]int64{"RequestFriendShip": r.Delivered}
	r.Missing = expected - r.Delivered
	r.Exceptions = exception.Load()
	r.costs(s1, s2, r.Delivered)
	r.latency(&lat)
	return r, ctx.Err()
}
