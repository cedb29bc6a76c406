package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/hist"
	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

// Churning user states, as the generator expects the server to see them.
const (
	stOffline    int32 = iota
	stConnecting       // connected this wave: ONLINE expected
	stOnline           // online since an earlier wave, maybe reloading: no event expected
	stLeaving          // disconnected this wave: OFFLINE expected after the grace
)

// churnUser is a churning user's bookkeeping, shared with the readers.
type churnUser struct {
	state       atomic.Int32
	dialAt      atomic.Int64 // Unix ns when its last connect started
	closedAt    atomic.Int64 // Unix ns when its sockets were last closed
	reconnected atomic.Int64 // Unix ns when a reload's reconnect completed; 0 until then
}

// runChurn is presence churn. A quarter of the N users are watchers that
// stay connected; the others churn, each an accepted friend of
// cfg.Friends watchers, in three groups whose roles rotate every wave:
// one group connects (ONLINE to itself and its watchers), one reloads
// (closes its sockets and reconnects after a quarter of the grace: no
// event may follow), one leaves (OFFLINE to its watchers once the grace
// has passed). A flap is an OFFLINE for a user that reconnected within
// the grace, or an ONLINE for a user that never went offline.
func runChurn(ctx context.Context, cfg Config) (Result, error) {
	var r Result
	if cfg.Grace <= 0 {
		return r, fmt.Errorf("churn needs the server's grace period (-grace)")
	}
	watchers := max(1, cfg.N/4)
	churners := (cfg.N - watchers) / 3 * 3
	if churners < 3 {
		return r, errNoUsers
	}
	friends := min(cfg.Friends, watchers)
	a := newAPI(cfg)
	defer a.close()
	ids, err := a.createUsers(ctx, watchers+churners, cfg.Workers)
	if err != nil {
		return r, fmt.Errorf("create users: %w", err)
	}
	// users[0:churners] churn, the rest watch.
	users := newUsers(ids)
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	var pairs [][2]string
	for i := range churners {
		for j := range friends {
			pairs = append(pairs, [2]string{ids[i], ids[churners+(i+j)%watchers]})
		}
	}
	fmt.Fprintf(cfg.Log, "churn: %d watchers, %d churning users, %d friendships\n", watchers, churners, len(pairs))
	if err := a.befriend(ctx, pairs, cfg.Workers); err != nil {
		return r, fmt.Errorf("friendships: %w", err)
	}
	defer closeAll(users, cfg.Workers)

	cu := make([]churnUser, churners)
	var (
		measuring                             atomic.Bool
		onlineGot, offlineGot, flaps, slowRel atomic.Int64
		exception                             atomic.Int64
		lat, offLag                           hist.Histogram
		grace                                 = cfg.Grace.Nanoseconds()
		keyUser, keyStatus                    = []byte(`"userId":"`), []byte(`"status":"`)
	)
	h := func(c *sio.Conn, i int, frame []byte, now int64) {
		pl := c.PrefixLen(i)
		if sio.EventIs(frame, pl, "exception") {
			exception.Add(1)
			return
		}
		if !measuring.Load() || !sio.EventIs(frame, pl, "userStatus") {
			return
		}
		k := bytes.Index(frame, keyUser)
		if k < 0 {
			return
		}
		rest := frame[k+len(keyUser):]
		e := bytes.IndexByte(rest, '"')
		if e < 0 {
			return
		}
		u, ok := index[string(rest[:e])]
		if !ok || u >= churners {
			return // a watcher's status
		}
		s := bytes.Index(frame, keyStatus)
		if s < 0 || s+len(keyStatus)+2 > len(frame) {
			return
		}
		st := cu[u].state.Load()
		switch string(frame[s+len(keyStatus) : s+len(keyStatus)+2]) {
		case "ON":
			onlineGot.Add(1)
			if st != stConnecting {
				flaps.Add(1)
				return
			}
			lat.Record(now - cu[u].dialAt.Load())
		case "OF":
			offlineGot.Add(1)
			cl := cu[u].closedAt.Load()
			switch st {
			case stLeaving:
				offLag.Record(now - cl - grace)
			case stOnline:
				rc := cu[u].reconnected.Load()
				if (rc != 0 && rc-cl < grace) || (rc == 0 && now-cl < grace) {
					flaps.Add(1)
				} else {
					slowRel.Add(1) // the reconnect took longer than the grace: OFFLINE is right
				}
			default:
				flaps.Add(1)
			}
		}
	}
	nsps := []string{appNsp, chatNsp}
	markDial := func(u *user) {
		if u.idx < churners {
			cu[u.idx].dialAt.Store(time.Now().UnixNano())
		}
	}
	dial := func(group []*user) error {
		failed, ferr := dialAllThen(ctx, cfg, group, nsps, h, markDial)
		if failed > 0 {
			return fmt.Errorf("%d of %d users failed to connect: %v", failed, len(group), ferr)
		}
		return nil
	}
	// Watchers first, then groups 1 and 2 online; group 0 starts offline.
	if err := dial(users[churners:]); err != nil {
		return r, err
	}
	g := churners / 3
	groups := [3][]*user{users[0:g], users[g : 2*g], users[2*g : 3*g]}
	for _, u := range users[g:churners] {
		cu[u.idx].state.Store(stConnecting)
	}
	if err := dial(users[g:churners]); err != nil {
		return r, err
	}
	for _, u := range users[g:churners] {
		cu[u.idx].state.Store(stOnline)
	}
	time.Sleep(time.Second)

	gap := cfg.Grace / 4
	margin := max(500*time.Millisecond, cfg.Grace/2)
	waves := cfg.Waves
	if waves <= 0 {
		waves = max(1, int(cfg.Duration/(gap+cfg.Grace+margin+time.Second)))
	}
	fmt.Fprintf(cfg.Log, "churn: %d waves of %d connecting, %d reloading, %d leaving users (grace %v)\n",
		waves, g, g, g, cfg.Grace)
	var expected int64
	measuring.Store(true)
	s1 := sample(cfg.PID)
	r.RSSBeforeKB = s1.RSSKB
	for w := range waves {
		if ctx.Err() != nil {
			break
		}
		x, y, z := groups[(3-w%3)%3], groups[(4-w%3)%3], groups[(5-w%3)%3]
		for _, u := range x {
			cu[u.idx].state.Store(stConnecting)
		}
		for _, u := range y {
			cu[u.idx].state.Store(stOnline)
		}
		for _, u := range z {
			cu[u.idx].state.Store(stLeaving)
		}
		expected += int64(len(x)*(friends+1) + len(z)*friends)
		closeAt := time.Now()
		for _, grp := range [][]*user{z, y} {
			for _, u := range grp {
				cu[u.idx].reconnected.Store(0)
				cu[u.idx].closedAt.Store(time.Now().UnixNano())
			}
			closeAll(grp, cfg.Workers)
		}
		if err := dial(x); err != nil {
			return r, err
		}
		time.Sleep(time.Until(closeAt.Add(gap)))
		if err := dial(y); err != nil {
			return r, err
		}
		now := time.Now().UnixNano()
		for _, u := range y {
			cu[u.idx].reconnected.Store(now)
		}
		time.Sleep(time.Until(closeAt.Add(cfg.Grace + 300*time.Millisecond)))
		target := expected
		waitFor(ctx, time.Until(closeAt.Add(cfg.Grace+margin)), func() bool {
			return onlineGot.Load()+offlineGot.Load() >= target
		})
		fmt.Fprintf(cfg.Log, "churn: wave %d: %d ONLINE, %d OFFLINE delivered so far, %d flaps\n",
			w+1, onlineGot.Load(), offlineGot.Load(), flaps.Load())
	}
	s2 := sample(cfg.PID)
	measuring.Store(false)

	r.Sockets = 2 * (watchers + 2*g)
	r.Conns = watchers + 2*g
	if cfg.Separate {
		r.Conns *= 2
	}
	r.Sent = int64(waves)
	r.Expected = expected
	r.Delivered = onlineGot.Load() + offlineGot.Load()
	r.ByEvent = map[string]int64{
		"userStatus_ONLINE": onlineGot.Load(), "userStatus_OFFLINE": offlineGot.Load(), "slow_reloads": slowRel.Load(),
	}
	r.Missing = expected - r.Delivered
	r.Flaps = flaps.Load()
	r.Exceptions = exception.Load()
	r.costs(s1, s2, r.Delivered)
	r.latency(&lat)
	r.OfflineLagP99Ms = ms(offLag.Quantile(0.99))
	return r, ctx.Err()
}
