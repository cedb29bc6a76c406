// Package loadgen drives a Socket.IO server (ours or the Node.js peer) over
// the wire with the benchmark scenarios of issue 3 (idle, dm, churn,
// fanout) and measures what it delivers, how fast, and what it costs the
// server (CPU time and resident memory read from /proc/<pid>).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/hist"
	"github.com/onlinenow/onlinenow/bench/internal/proc"
	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

// Namespaces.
const (
	appNsp  = "/appGateway"
	chatNsp = "/chatGateway"
)

// Config is one scenario run.
type Config struct {
	URL      string        // server base URL, http://127.0.0.1:port
	Scenario string        // idle, dm, churn, fanout
	Label    string        // "ours", "peer": copied to the result
	N        int           // users (idle, dm, churn) or receiving sockets (fanout)
	Rate     float64       // dm: messages/s in total; fanout: emits/s
	Duration time.Duration // the measured window (idle, dm, fanout) or the time the churn waves fill
	Warmup   time.Duration // dm, fanout: the same load, unmeasured, before the window (JIT, pools, caches)
	Auth     string        // strict or compat
	Secret   string        // JWT_SECRET of the server (strict)
	PID      int           // server process to sample; 0 for none
	Grace    time.Duration // the server's PRESENCE_GRACE (churn)
	Waves    int           // churn: number of waves; 0 fills Duration
	Friends  int           // churn: watchers each churning user is friends with
	Workers  int           // parallel dials and REST calls during setup
	Separate bool          // one WebSocket per namespace instead of one multiplexed
	Log      io.Writer     // progress lines; nil for none
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Auth == "" {
		c.Auth = "strict"
	}
	if c.Friends <= 0 {
		c.Friends = 2
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Result is the outcome of one scenario run: one JSON line.
type Result struct {
	Scenario string  `json:"scenario"`
	Label    string  `json:"label,omitempty"`
	N        int     `json:"n"`
	Sockets  int     `json:"sockets"`     // Socket.IO sockets (namespace connections) open
	Conns    int     `json:"connections"` // WebSocket connections open
	Rate     float64 `json:"target_rate,omitempty"`
	WindowS  float64 `json:"window_s"` // measured window

	ConnectPerS float64 `json:"connect_sockets_per_s,omitempty"` // idle: namespace sockets connected per second
	ConnectErrs int64   `json:"connect_errors"`

	Sent          int64            `json:"sent,omitempty"` // events the generator emitted
	Expected      int64            `json:"expected,omitempty"`
	Delivered     int64            `json:"delivered"`
	ByEvent       map[string]int64 `json:"delivered_by_event,omitempty"`
	Missing       int64            `json:"missing"`
	Exceptions    int64            `json:"exceptions"`
	DeliveredPerS float64          `json:"delivered_per_s"`
	Flaps         int64            `json:"flaps"`

	LatP50Ms float64 `json:"lat_p50_ms,omitempty"`
	LatP99Ms float64 `json:"lat_p99_ms,omitempty"`
	LatMaxMs float64 `json:"lat_max_ms,omitempty"`
	LatCount uint64  `json:"lat_samples,omitempty"`
	// churn: how long after the grace period OFFLINE arrived.
	OfflineLagP99Ms float64 `json:"offline_lag_p99_ms,omitempty"`

	ServerCPUS       float64 `json:"server_cpu_s"` // during the window
	CPUPer1kEvents   float64 `json:"server_cpu_s_per_1k_events,omitempty"`
	EventsPerCPUS    float64 `json:"events_per_server_cpu_s,omitempty"`
	IdleCPUPct       float64 `json:"idle_cpu_pct"` // idle: % of one core
	RSSBeforeKB      int64   `json:"server_rss_before_kb"`
	RSSAfterKB       int64   `json:"server_rss_after_kb"`
	RSSPerConnBytes  int64   `json:"server_rss_per_connection_b,omitempty"` // idle: per identified user connection
	RSSPerSocketByte int64   `json:"server_rss_per_socket_b,omitempty"`     // idle: per namespace socket

	GenCPUS       float64 `json:"generator_cpu_s"`        // whole run, setup included
	GenWindowCPUS float64 `json:"generator_window_cpu_s"` // during the window
	GenRSSKB      int64   `json:"generator_rss_kb"`
	Error         string  `json:"error,omitempty"`
}

// Run runs cfg's scenario.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.defaults()
	raiseFileLimit(cfg.Log)
	genStart, _ := proc.Read(os.Getpid())
	var (
		r   Result
		err error
	)
	switch cfg.Scenario {
	case "idle":
		r, err = runIdle(ctx, cfg)
	case "dm":
		r, err = runDM(ctx, cfg)
	case "churn":
		r, err = runChurn(ctx, cfg)
	case "fanout":
		r, err = runFanout(ctx, cfg)
	default:
		return Result{}, fmt.Errorf("unknown scenario %q (idle, dm, churn, fanout)", cfg.Scenario)
	}
	r.Scenario, r.Label, r.N = cfg.Scenario, cfg.Label, cfg.N
	if r.Missing < 0 {
		r.Missing = 0
	}
	genEnd, _ := proc.Read(os.Getpid())
	r.GenCPUS = (genEnd.CPU - genStart.CPU).Seconds()
	r.GenRSSKB = genEnd.RSSKB
	if err != nil {
		r.Error = err.Error()
	}
	return r, err
}

// raiseFileLimit lifts the soft open-files limit to the hard one: each
// WebSocket is a descriptor.
func raiseFileLimit(log io.Writer) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			fmt.Fprintln(log, "raise open-files limit:", err)
		}
	}
}

// costs fills the server-side cost fields from two samples around a
// window in which delivered events were delivered.
func (r *Result) costs(a, b snap, delivered int64) {
	r.WindowS = b.At.Sub(a.At).Seconds()
	r.GenWindowCPUS = (b.gen.CPU - a.gen.CPU).Seconds()
	r.ServerCPUS = (b.CPU - a.CPU).Seconds()
	r.RSSAfterKB = b.RSSKB
	if r.WindowS > 0 {
		r.DeliveredPerS = float64(delivered) / r.WindowS
	}
	if delivered > 0 && r.ServerCPUS > 0 {
		r.CPUPer1kEvents = r.ServerCPUS / float64(delivered) * 1000
		r.EventsPerCPUS = float64(delivered) / r.ServerCPUS
	}
}

func (r *Result) latency(h *hist.Histogram) {
	r.LatCount = h.Count()
	r.LatP50Ms = ms(h.Quantile(0.50))
	r.LatP99Ms = ms(h.Quantile(0.99))
	r.LatMaxMs = ms(h.Max())
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// stampMarker precedes the send time (19 decimal digits of Unix
// nanoseconds) the generator embeds in message text.
const stampMarker = "@ts"

const stampDigits = 19

// stamp returns the send time embedded in frame, or 0.
func stamp(frame []byte) int64 {
	i := indexMarker(frame)
	if i < 0 || i+len(stampMarker)+stampDigits > len(frame) {
		return 0
	}
	var v int64
	for _, d := range frame[i+len(stampMarker) : i+len(stampMarker)+stampDigits] {
		if d < '0' || d > '9' {
			return 0
		}
		v = v*10 + int64(d-'0')
	}
	return v
}

func indexMarker(b []byte) int {
	for i := 0; i+len(stampMarker) <= len(b); i++ {
		if b[i] == '@' && b[i+1] == 't' && b[i+2] == 's' {
			return i
		}
	}
	return -1
}

// putStamp writes ns as stampDigits digits at b[at:].
func putStamp(b []byte, at int, ns int64) {
	for i := at + stampDigits - 1; i >= at; i-- {
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
}

// template is a pre-encoded packet with a stamp slot.
type template struct {
	b  []byte
	at int // index of the first stamp digit
}

func newTemplate(packet string) template {
	i := strings.Index(packet, stampMarker)
	if i < 0 {
		panic("template without stamp: " + packet)
	}
	return template{b: []byte(packet), at: i + len(stampMarker)}
}

func stampSlot() string { return stampMarker + strings.Repeat("0", stampDigits) }

// user is one identified client: an /appGateway and a /chatGateway socket,
// multiplexed on one WebSocket or on two.
type user struct {
	idx   int
	id    string
	conns []*sio.Conn
	// app and chat locate the namespace sockets: connection and index.
	app, chat sockRef
}

type sockRef struct {
	c   *sio.Conn
	nsp int
}

func (s sockRef) write(p []byte) error { return s.c.Write(p) }

// dialUser connects user u's namespaces. h gets every event; kind tells
// which namespace a (conn, index) is.
func dialUser(ctx context.Context, cfg Config, u *user, nsps []string, h sio.Handler) error {
	secret := []byte(cfg.Secret)
	auth := authJSON(cfg.Auth, secret, u.id)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	groups := [][]string{nsps}
	if cfg.Separate {
		groups = groups[:0]
		for _, n := range nsps {
			groups = append(groups, []string{n})
		}
	}
	u.conns = u.conns[:0]
	u.app, u.chat = sockRef{}, sockRef{}
	for _, g := range groups {
		auths := make([]string, len(g))
		for i := range auths {
			auths[i] = auth
		}
		c, err := sio.Dial(ctx, cfg.URL, g, auths, h)
		if err != nil {
			u.close()
			return err
		}
		c.ID = u.idx
		u.conns = append(u.conns, c)
		for i, n := range g {
			switch n {
			case appNsp:
				u.app = sockRef{c, i}
			case chatNsp:
				u.chat = sockRef{c, i}
			}
		}
	}
	return nil
}

func (u *user) close() {
	for _, c := range u.conns {
		c.Close()
	}
	u.conns = u.conns[:0]
}

// nspOf reports the namespace of event packets from (c, i).
func nspOf(c *sio.Conn, i int) string { return c.Namespace(i) }

// dialAll connects users in parallel and returns how many failed (the
// first error is returned too, for the log).
func dialAll(ctx context.Context, cfg Config, users []*user, nsps []string, h sio.Handler) (int64, error) {
	return dialAllThen(ctx, cfg, users, nsps, h, nil)
}

// dialAllThen is dialAll calling before(u) just before each user's dial.
func dialAllThen(ctx context.Context, cfg Config, users []*user, nsps []string, h sio.Handler, before func(*user)) (int64, error) {
	var failed atomic.Int64
	var first error
	var once sync.Once
	parallel(ctx, len(users), cfg.Workers, func(ctx context.Context, i int) error {
		if before != nil {
			before(users[i])
		}
		if err := dialUser(ctx, cfg, users[i], nsps, h); err != nil {
			failed.Add(1)
			once.Do(func() { first = err })
		}
		return nil
	})
	return failed.Load(), first
}

func closeAll(users []*user, workers int) {
	parallel(context.Background(), len(users), workers, func(_ context.Context, i int) error {
		users[i].close()
		return nil
	})
}

// waitFor polls cond until it holds or timeout passes; it reports cond.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return cond()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// snap is a reading of the server (embedded) and of the generator itself.
type snap struct {
	proc.Sample
	gen proc.Sample
}

func sample(pid int) snap {
	s, _ := proc.Read(pid)
	g, _ := proc.Read(os.Getpid())
	return snap{Sample: s, gen: g}
}

func newUsers(ids []string) []*user {
	us := make([]*user, len(ids))
	for i, id := range ids {
		us[i] = &user{idx: i, id: id}
	}
	return us
}

var errNoUsers = errors.New("N is too small for this scenario")

// pace calls send(k) for k = 0, 1, ... at rate per second until d has
// passed or ctx is done, and returns how many it sent. A sender that falls
// behind catches up in bursts, so the achieved rate shows in the count.
func pace(ctx context.Context, rate float64, d time.Duration, send func(k int64)) int64 {
	start := time.Now()
	var sent int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		el := time.Since(start)
		if el >= d || ctx.Err() != nil {
			return sent
		}
		due := int64(el.Seconds() * rate)
		for ; sent < due; sent++ {
			send(sent)
		}
		<-tick.C
	}
}
