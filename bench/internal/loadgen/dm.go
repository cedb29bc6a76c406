package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/hist"
	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

// dmPerMessage is what one delivered message yields: getMessage to both
// chat sockets in the room, refresh to the receiver's chat socket,
// notifMessage to the receiver's app socket.
const dmPerMessage = 4

// runDM pairs N users (user 2k with 2k+1); both join their room, then the
// users take turns sending "message" at cfg.Rate messages/s in total, so
// each pair talks both ways.
func runDM(ctx context.Context, cfg Config) (Result, error) {
	var r Result
	n := cfg.N &^ 1
	if n < 2 {
		return r, errNoUsers
	}
	if cfg.Rate <= 0 {
		return r, fmt.Errorf("dm needs a rate > 0")
	}
	a := newAPI(cfg)
	defer a.close()
	ids, err := a.createUsers(ctx, n, cfg.Workers)
	if err != nil {
		return r, fmt.Errorf("create users: %w", err)
	}
	users := newUsers(ids)
	defer closeAll(users, cfg.Workers)

	var (
		measuring                                 atomic.Bool
		joined, getMsg, refresh, notif, exception atomic.Int64
		lat                                       hist.Histogram
	)
	h := func(c *sio.Conn, i int, frame []byte, now int64) {
		name := sio.EventName(frame, c.PrefixLen(i))
		switch string(name) {
		case "joined":
			joined.Add(1)
			return
		case "exception":
			exception.Add(1)
			return
		}
		if !measuring.Load() {
			return
		}
		switch string(name) {
		case "getMessage":
			getMsg.Add(1)
		case "notifMessage":
			notif.Add(1)
		case "refresh":
			refresh.Add(1)
			return
		default:
			return
		}
		if t := stamp(frame); t > 0 {
			lat.Record(now - t)
		}
	}
	fmt.Fprintf(cfg.Log, "dm: connecting %d users\n", n)
	failed, ferr := dialAll(ctx, cfg, users, []string{appNsp, chatNsp}, h)
	r.ConnectErrs = failed
	if failed > 0 {
		return r, fmt.Errorf("%d of %d users failed to connect: %v", failed, n, ferr)
	}
	r.Sockets, r.Conns = 2*n, n
	if cfg.Separate {
		r.Conns = 2 * n
	}
	msgs := make([]template, n)
	for i, u := range users {
		peer := users[i^1].id
		join := []byte(`42` + chatNsp + `,["joinRoom",{"senderId":"` + u.id + `","recieverId":"` + peer + `"}]`)
		if err := u.chat.write(join); err != nil {
			return r, fmt.Errorf("joinRoom: %w", err)
		}
		msgs[i] = newTemplate(`42` + chatNsp + `,["message",{"content":"` + stampSlot() +
			` hello from the load generator","senderId":"` + u.id + `","recieverId":"` + peer + `"}]`)
	}
	if !waitFor(ctx, 30*time.Second, func() bool { return joined.Load() >= int64(n) }) {
		return r, fmt.Errorf("only %d of %d joinRoom answered", joined.Load(), n)
	}
	time.Sleep(500 * time.Millisecond)

	var writeErrs atomic.Int64
	send := func(k int64) {
		i := int(k % int64(n))
		t := &msgs[i]
		putStamp(t.b, t.at, time.Now().UnixNano())
		if users[i].chat.write(t.b) != nil {
			writeErrs.Add(1)
		}
	}
	delivered := func() int64 { return getMsg.Load() + notif.Load() + refresh.Load() }
	measuring.Store(true)
	if cfg.Warmup > 0 {
		fmt.Fprintf(cfg.Log, "dm: warming up for %v\n", cfg.Warmup)
		w := pace(ctx, cfg.Rate, cfg.Warmup, send) - writeErrs.Load()
		waitFor(ctx, 10*time.Second, func() bool { return delivered() >= w*dmPerMessage })
		time.Sleep(200 * time.Millisecond)
		getMsg.Store(0)
		notif.Store(0)
		refresh.Store(0)
		writeErrs.Store(0)
		lat.Reset()
	}
	fmt.Fprintf(cfg.Log, "dm: %d pairs, %.0f messages/s for %v\n", n/2, cfg.Rate, cfg.Duration)
	s1 := sample(cfg.PID)
	r.RSSBeforeKB = s1.RSSKB
	sent := pace(ctx, cfg.Rate, cfg.Duration, send)
	sent -= writeErrs.Load()
	expected := sent * dmPerMessage
	waitFor(ctx, 10*time.Second, func() bool { return delivered() >= expected })
	s2 := sample(cfg.PID)

	r.Rate = cfg.Rate
	r.Sent = sent
	r.Expected = expected
	r.Delivered = delivered()
	r.ByEvent = map[string]int64{"getMessage": getMsg.Load(), "notifMessage": notif.Load(), "refresh": refresh.Load()}
	r.Missing = expected - r.Delivered
	r.Exceptions = exception.Load()
	r.costs(s1, s2, r.Delivered)
	r.latency(&lat)
	return r, ctx.Err()
}
