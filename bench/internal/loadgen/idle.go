package loadgen

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

// runIdle connects N identified users (an /appGateway and a /chatGateway
// socket each), then holds them for cfg.Duration: connect rate, server
// memory per connection, server CPU while idle.
func runIdle(ctx context.Context, cfg Config) (Result, error) {
	var r Result
	if cfg.N < 1 {
		return r, errNoUsers
	}
	a := newAPI(cfg)
	defer a.close()
	ids, err := a.createUsers(ctx, cfg.N, cfg.Workers)
	if err != nil {
		return r, fmt.Errorf("create users: %w", err)
	}
	users := newUsers(ids)
	defer closeAll(users, cfg.Workers)

	// Each user's app socket gets its own ONLINE: count them to know the
	// server has finished the connect work.
	var online atomic.Int64
	h := func(c *sio.Conn, i int, frame []byte, _ int64) {
		if sio.EventIs(frame, c.PrefixLen(i), "userStatus") {
			online.Add(1)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the server settle after the REST burst
	before := sample(cfg.PID)
	r.RSSBeforeKB = before.RSSKB
	fmt.Fprintf(cfg.Log, "idle: connecting %d users (%d sockets)\n", cfg.N, 2*cfg.N)
	start := time.Now()
	failed, ferr := dialAll(ctx, cfg, users, []string{appNsp, chatNsp}, h)
	connectDur := time.Since(start)
	r.ConnectErrs = failed
	ok := int64(cfg.N) - failed
	r.Sockets = int(2 * ok)
	r.Conns = int(ok)
	if cfg.Separate {
		r.Conns = int(2 * ok)
	}
	r.ConnectPerS = float64(2*ok) / connectDur.Seconds()
	if ferr != nil {
		fmt.Fprintf(cfg.Log, "idle: %d connects failed, first: %v\n", failed, ferr)
	}
	waitFor(ctx, 30*time.Second, func() bool { return online.Load() >= ok })
	time.Sleep(time.Second) // presence writes and GC settle

	s1 := sample(cfg.PID)
	fmt.Fprintf(cfg.Log, "idle: %d users connected in %v; holding %v\n", ok, connectDur.Round(time.Millisecond), cfg.Duration)
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	s2 := sample(cfg.PID)
	r.costs(s1, s2, 0)
	r.DeliveredPerS = 0
	r.Delivered = online.Load()
	r.Expected = ok
	r.Missing = ok - r.Delivered
	if r.WindowS > 0 {
		r.IdleCPUPct = r.ServerCPUS / r.WindowS * 100
	}
	if ok > 0 && cfg.PID != 0 {
		grown := (s2.RSSKB - before.RSSKB) * 1024
		r.RSSPerConnBytes = grown / ok
		r.RSSPerSocketByte = grown / (2 * ok)
	}
	if failed > 0 {
		return r, fmt.Errorf("%d of %d users failed to connect: %v", failed, cfg.N, ferr)
	}
	return r, ctx.Err()
}
