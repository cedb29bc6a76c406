package loadgen

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// metric is one row of the human tables.
type metric struct {
	name   string
	better string // "higher", "lower" or "" (informational)
	get    func(Result) float64
	format string
	always bool   // shown even when zero (counts that must be zero)
	only   string // shown even when zero for this scenario
}

var metrics = []metric{
	{"sockets open", "", func(r Result) float64 { return float64(r.Sockets) }, "%.0f", false, ""},
	{"connect rate (sockets/s)", "higher", func(r Result) float64 { return r.ConnectPerS }, "%.0f", false, ""},
	{"sent (events emitted)", "", func(r Result) float64 { return float64(r.Sent) }, "%.0f", false, ""},
	{"delivered", "", func(r Result) float64 { return float64(r.Delivered) }, "%.0f", false, ""},
	{"missing", "lower", func(r Result) float64 { return float64(r.Missing) }, "%.0f", true, ""},
	{"exceptions", "lower", func(r Result) float64 { return float64(r.Exceptions) }, "%.0f", true, ""},
	{"flaps", "lower", func(r Result) float64 { return float64(r.Flaps) }, "%.0f", true, ""},
	{"delivered/s", "higher", func(r Result) float64 { return r.DeliveredPerS }, "%.0f", false, ""},
	{"events per server CPU-s", "higher", func(r Result) float64 { return r.EventsPerCPUS }, "%.0f", false, ""},
	{"server CPU-s per 1k events", "lower", func(r Result) float64 { return r.CPUPer1kEvents }, "%.4f", false, ""},
	{"latency p50 (ms)", "lower", func(r Result) float64 { return r.LatP50Ms }, "%.2f", false, ""},
	{"latency p99 (ms)", "lower", func(r Result) float64 { return r.LatP99Ms }, "%.2f", false, ""},
	{"latency max (ms)", "lower", func(r Result) float64 { return r.LatMaxMs }, "%.2f", false, ""},
	{"OFFLINE lag after grace p99 (ms)", "lower", func(r Result) float64 { return r.OfflineLagP99Ms }, "%.1f", false, ""},
	{"server CPU-s in window", "", func(r Result) float64 { return r.ServerCPUS }, "%.2f", false, ""},
	{"server idle CPU (% of a core)", "lower", func(r Result) float64 { return r.IdleCPUPct }, "%.2f", false, "idle"},
	{"server RSS after (MiB)", "lower", func(r Result) float64 { return float64(r.RSSAfterKB) / 1024 }, "%.1f", false, ""},
	{"server RSS per connection (KiB)", "lower", func(r Result) float64 { return float64(r.RSSPerConnBytes) / 1024 }, "%.2f", false, ""},
	{"server RSS per socket (KiB)", "lower", func(r Result) float64 { return float64(r.RSSPerSocketByte) / 1024 }, "%.2f", false, ""},
	{"generator CPU-s in window", "", func(r Result) float64 { return r.GenWindowCPUS }, "%.2f", false, ""},
	{"generator CPU-s (whole run)", "", func(r Result) float64 { return r.GenCPUS }, "%.2f", false, ""},
}

// WriteTable prints one result as a two-column table, skipping zero rows.
func WriteTable(w io.Writer, r Result) {
	fmt.Fprintf(w, "scenario %s  %s  n=%d  window %.1fs\n", r.Scenario, r.Label, r.N, r.WindowS)
	for _, m := range metrics {
		v := m.get(r)
		if v == 0 && !m.always && m.only != r.Scenario {
			continue
		}
		fmt.Fprintf(w, "  %-34s %12s\n", m.name, fmt.Sprintf(m.format, v))
	}
	if len(r.ByEvent) > 0 {
		keys := make([]string, 0, len(r.ByEvent))
		for k := range r.ByEvent {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    %-32s %12d\n", k, r.ByEvent[k])
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
}

// WriteComparison prints ours against the peer with ratios ours/peer, and
// says which side each ratio favours.
func WriteComparison(w io.Writer, ours, peer Result) {
	fmt.Fprintf(w, "scenario %s  n=%d  (ratio = ours/peer)\n", ours.Scenario, ours.N)
	fmt.Fprintf(w, "  %-34s %12s %12s %8s  %s\n", "metric", "ours", "peer", "ratio", "")
	fmt.Fprintf(w, "  %s\n", strings.Repeat("-", 80))
	for _, m := range metrics {
		a, b := m.get(ours), m.get(peer)
		if a == 0 && b == 0 && m.only != ours.Scenario {
			continue
		}
		ratio, verdict := "-", ""
		if b != 0 && !math.IsNaN(a/b) {
			ratio = fmt.Sprintf("%.2f", a/b)
		}
		switch {
		case math.Abs(a-b) <= 0.01*math.Max(math.Abs(a), math.Abs(b)):
			// within 1%: a tie
		case m.better == "higher" && a > b, m.better == "lower" && a < b:
			verdict = "ours better"
		case m.better == "higher" && a < b, m.better == "lower" && a > b:
			verdict = "peer better"
		}
		fmt.Fprintf(w, "  %-34s %12s %12s %8s  %s\n", m.name,
			fmt.Sprintf(m.format, a), fmt.Sprintf(m.format, b), ratio, verdict)
	}
	for _, r := range []Result{ours, peer} {
		if r.Error != "" {
			fmt.Fprintf(w, "  %s error: %s\n", r.Label, r.Error)
		}
	}
}
