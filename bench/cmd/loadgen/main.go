// Command loadgen runs one benchmark scenario against a running server
// (ours or the Node.js peer) and prints a JSON line and a table; with
// -compare it prints the ours/peer table of two saved JSON results.
//
//	loadgen -url http://127.0.0.1:3000 -scenario dm -n 500 -rate 500 -duration 10s -pid 1234 -secret ...
//	loadgen -compare ours.json peer.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/onlinenow/onlinenow/bench/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:3000", "server base URL")
	fs.StringVar(&cfg.Scenario, "scenario", "idle", "idle, dm, churn or fanout")
	fs.StringVar(&cfg.Label, "label", "", "name of the server under test, copied to the result (ours, peer)")
	fs.IntVar(&cfg.N, "n", 500, "users (idle, dm, churn) or receiving sockets (fanout)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "dm: messages/s in total (default 500); fanout: emits/s (default 20)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured window (churn: time the waves fill)")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "dm, fanout: unmeasured load before the window (JIT, pools)")
	fs.StringVar(&cfg.Auth, "auth", "strict", "strict (auth.token, HS256 JWT) or compat (auth.userId)")
	fs.StringVar(&cfg.Secret, "secret", os.Getenv("JWT_SECRET"), "the server's JWT_SECRET (strict)")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id to sample CPU and RSS from /proc (0: none)")
	fs.DurationVar(&cfg.Grace, "grace", 5*time.Second, "the server's PRESENCE_GRACE (churn)")
	fs.IntVar(&cfg.Waves, "waves", 0, "churn: number of waves (0: as many as fit in -duration)")
	fs.IntVar(&cfg.Friends, "friends", 2, "churn: watchers each churning user is friends with")
	fs.IntVar(&cfg.Workers, "workers", 32, "parallel dials and REST calls during setup")
	fs.BoolVar(&cfg.Separate, "separate", false, "one WebSocket per namespace (default: both namespaces multiplexed on one, as socket.io-client does)")
	jsonOut := fs.String("json", "", "also append the JSON line to this file")
	timeout := fs.Duration("timeout", 0, "hard limit for the whole run (default: 5m + 3x duration)")
	compare := fs.Bool("compare", false, "print the comparison of two JSON result files (ours, peer) given as arguments")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *compare {
		return compareFiles(stdout, fs.Args())
	}
	if cfg.Rate == 0 {
		switch cfg.Scenario {
		case "dm":
			cfg.Rate = 500
		case "fanout":
			cfg.Rate = 20
		}
	}
	if *timeout == 0 {
		*timeout = 5*time.Minute + 3*cfg.Duration
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg.Log = stderr

	res, err := loadgen.Run(ctx, cfg)
	line, merr := json.Marshal(res)
	if merr != nil {
		return merr
	}
	fmt.Fprintln(stdout, string(line))
	if *jsonOut != "" {
		f, ferr := os.OpenFile(*jsonOut, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if ferr != nil {
			return ferr
		}
		fmt.Fprintln(f, string(line))
		if ferr := f.Close(); ferr != nil {
			return ferr
		}
	}
	loadgen.WriteTable(stderr, res)
	return err
}

func compareFiles(w io.Writer, paths []string) error {
	if len(paths) != 2 {
		return errors.New("-compare takes two files: ours.json peer.json")
	}
	var rs [2]loadgen.Result
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// The last line is the newest result.
		lines := splitLines(b)
		if len(lines) == 0 {
			return fmt.Errorf("%s: empty", p)
		}
		if err := json.Unmarshal(lines[len(lines)-1], &rs[i]); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	loadgen.WriteComparison(w, rs[0], rs[1])
	return nil
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			if i > start {
				out = append(out, b[start:i])
			}
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
