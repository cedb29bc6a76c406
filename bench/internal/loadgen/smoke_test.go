package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmoke builds the server, starts it and runs every scenario with a
// tiny load, so the generator keeps working. It takes a few seconds; the
// real measurements are bench/run.sh's.
func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "onlinenow")
	build := exec.Command(goTool(), "build", "-o", bin, "github.com/onlinenow/onlinenow")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build server: %v\n%s", err, out)
	}
	port := freePort(t)
	const secret = "smoke-test-secret-0123456789"
	const grace = 400 * time.Millisecond
	srv := exec.Command(bin)
	srv.Dir = dir
	srv.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "SQLITE_PATH="+filepath.Join(dir, "db.sqlite"),
		"JWT_SECRET="+secret, "AUTH_MODE=strict", "AUTH_DEV_LOGIN=true", "PRESENCE_GRACE="+grace.String(), "DATABASE_URL=")
	var log strings.Builder
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the server process is reaped
	go func() { srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(t, url, exited)

	base := Config{URL: url, Auth: "strict", Secret: secret, PID: srv.Process.Pid, Grace: grace, Workers: 8}
	run := func(t *testing.T, cfg Config) Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v (%+v)", cfg.Scenario, err, r)
		}
		if r.Missing != 0 || r.Exceptions != 0 || r.Flaps != 0 || r.ConnectErrs != 0 {
			t.Errorf("missing %d, exceptions %d, flaps %d, connect errors %d", r.Missing, r.Exceptions, r.Flaps, r.ConnectErrs)
		}
		if r.GenRSSKB <= 0 || r.RSSAfterKB <= 0 {
			t.Errorf("no memory readings: %+v", r)
		}
		return r
	}

	t.Run("idle", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.N, cfg.Duration = "idle", 20, 300*time.Millisecond
		r := run(t, cfg)
		if r.Sockets != 40 || r.Delivered != 20 || r.ConnectPerS <= 0 {
			t.Errorf("sockets %d, own ONLINE delivered %d, connect rate %.0f", r.Sockets, r.Delivered, r.ConnectPerS)
		}
	})
	t.Run("dm", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.N, cfg.Rate, cfg.Duration, cfg.Warmup = "dm", 20, 100, 2*time.Second, 300*time.Millisecond
		r := run(t, cfg)
		if r.Sent < 100 || r.Delivered != r.Sent*dmPerMessage || r.LatP50Ms <= 0 || r.LatP99Ms < r.LatP50Ms {
			t.Errorf("sent %d delivered %d, latency p50 %.2f p99 %.2f ms", r.Sent, r.Delivered, r.LatP50Ms, r.LatP99Ms)
		}
		if r.ByEvent["getMessage"] != 2*r.Sent || r.ByEvent["refresh"] != r.Sent || r.ByEvent["notifMessage"] != r.Sent {
			t.Errorf("by event %v for %d sent", r.ByEvent, r.Sent)
		}
		if r.ServerCPUS <= 0 || r.CPUPer1kEvents <= 0 {
			t.Errorf("server CPU %.3f s, per 1k events %.4f", r.ServerCPUS, r.CPUPer1kEvents)
		}
	})
	t.Run("churn", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.N, cfg.Waves = "churn", 24, 1
		r := run(t, cfg)
		// 6 watchers, 18 churners in groups of 6, 2 friends each: 6x3 ONLINE + 6x2 OFFLINE.
		if r.Expected != 30 || r.Delivered != 30 || r.LatP50Ms <= 0 {
			t.Errorf("expected %d delivered %d (%v), latency p50 %.2f ms", r.Expected, r.Delivered, r.ByEvent, r.LatP50Ms)
		}
	})
	t.Run("fanout", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.N, cfg.Rate, cfg.Duration = "fanout", 20, 20, time.Second
		r := run(t, cfg)
		if r.Sent < 10 || r.Delivered != r.Sent*21 || r.LatP99Ms <= 0 {
			t.Errorf("sent %d delivered %d, latency p99 %.2f ms", r.Sent, r.Delivered, r.LatP99Ms)
		}
	})
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(t *testing.T, url string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("server exited at start")
		default:
		}
		resp, err := http.Get(url + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not answer in 20 s")
}
