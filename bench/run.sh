#!/usr/bin/env bash
# Runs one benchmark scenario against our server and then the Node.js peer,
# each started fresh on loopback, and prints both results and the ours/peer
# table. Usage:
#
#   bench/run.sh <idle|dm|churn|fanout> [loadgen flags, e.g. -n 500 -duration 10s -rate 500]
#
# Environment (all optional):
#   TARGETS          servers to run, in order (default "ours peer")
#   PRESENCE_GRACE   grace period given to both servers (default 5s; churn: 2s)
#   AUTH_MODE        strict (default) or compat
#   DATABASE_URL     run ours on this PostgreSQL database instead of a fresh SQLite file
#                    (the database server's CPU is then not in the measured process)
#   SERVER_CPUS      taskset CPU list for the servers (e.g. 0); GEN_CPUS for the generator
#   BENCH_OUT        directory for binaries, logs and JSON results (default: a new temp dir)
#   BENCH_TIMEOUT    hard limit per generator run, in seconds (default 900)
#   PROFILE=1        record ours with `perf record -g` during the run and write the top of
#                    `perf report` to $BENCH_OUT/ours-<scenario>.perf.txt (costs CPU: not a
#                    measurement run)
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 ]] || usage
scenario=$1
shift
case $scenario in idle | dm | churn | fanout) ;; *) usage ;; esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-$(mktemp -d -t onlinenow-bench.XXXXXX)}
mkdir -p "$OUT"
TARGETS=${TARGETS:-"ours peer"}
AUTH_MODE=${AUTH_MODE:-strict}
if [[ -z ${PRESENCE_GRACE:-} ]]; then
  PRESENCE_GRACE=5s
  [[ $scenario == churn ]] && PRESENCE_GRACE=2s
fi
JWT_SECRET=${JWT_SECRET:-bench-secret-$(date +%s)-0123456789}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
PORT_OURS=${PORT_OURS:-39101}
PORT_PEER=${PORT_PEER:-39102}

server_pid=""
perf_pid=""
cleanup() {
  if [[ -n $perf_pid ]] && kill -0 "$perf_pid" 2>/dev/null; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  perf_pid=""
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

pin() { # pin <cpus> cmd...: run under taskset when a CPU list is given
  local cpus=$1
  shift
  if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

echo "==> building into $OUT"
go build -o "$OUT/onlinenow" .
go build -o "$OUT/loadgen" ./bench/cmd/loadgen
if [[ " $TARGETS " == *" peer "* && ! -d bench/peer-node/node_modules/socket.io ]]; then
  echo "==> installing the peer's npm dependencies"
  (cd bench/peer-node && timeout 300 npm install --no-audit --no-fund)
fi

# start <target>: starts the server in the background and waits for GET /.
start() {
  local target=$1 port
  case $target in
    ours)
      port=$PORT_OURS
      (
        cd "$OUT"
        # Strict mode opens POST /users (the generator's setup) only with AUTH_DEV_LOGIN.
        export PORT=$port JWT_SECRET AUTH_MODE PRESENCE_GRACE AUTH_DEV_LOGIN=true
        if [[ -n ${DATABASE_URL:-} ]]; then export DATABASE_URL; else
          rm -f "$OUT/ours-$scenario.sqlite"*
          export SQLITE_PATH="$OUT/ours-$scenario.sqlite"
        fi
        pin "${SERVER_CPUS:-}" "$OUT/onlinenow"
      ) \
        >"$OUT/ours-$scenario.log" 2>&1 &
      ;;
    peer)
      port=$PORT_PEER
      (
        cd bench/peer-node
        export HOST=127.0.0.1 PORT=$port JWT_SECRET AUTH_MODE PRESENCE_GRACE
        pin "${SERVER_CPUS:-}" node server.js
      ) \
        >"$OUT/peer-$scenario.log" 2>&1 &
      ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  server_pid=$!
  url=http://127.0.0.1:$port
  for _ in $(seq 300); do
    if curl -fsS -m 1 "$url/" >/dev/null 2>&1; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { echo "$target exited:" >&2; tail -20 "$OUT/$target-$scenario.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$target did not answer on $url within 30 s" >&2
  exit 1
}

for target in $TARGETS; do
  echo "==> $scenario against $target"
  start "$target"
  rm -f "$OUT/$target-$scenario.json"
  if [[ ${PROFILE:-} == 1 && $target == ours ]]; then
    perf record -q -F 499 -g -p "$server_pid" -o "$OUT/ours-$scenario.perf.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  status=0
  (pin "${GEN_CPUS:-}" timeout --signal=INT --kill-after=10 "$BENCH_TIMEOUT" "$OUT/loadgen" \
    -url "$url" -scenario "$scenario" -label "$target" -pid "$server_pid" -auth "$AUTH_MODE" \
    -secret "$JWT_SECRET" -grace "$PRESENCE_GRACE" -json "$OUT/$target-$scenario.json" "$@") \
    >/dev/null || status=$?
  cleanup
  if [[ ${PROFILE:-} == 1 && $target == ours && -s $OUT/ours-$scenario.perf.data ]]; then
    perf report -q --stdio --no-children --sort symbol -i "$OUT/ours-$scenario.perf.data" -g none 2>/dev/null |
      grep -v '^$' | head -60 >"$OUT/ours-$scenario.perf.txt" || true
    echo "==> profile of ours: $OUT/ours-$scenario.perf.txt"
  fi
  [[ $status -eq 0 ]] || echo "==> the generator failed against $target (exit $status); see above" >&2
  sleep 1
done

if [[ " $TARGETS " == *" ours "* && " $TARGETS " == *" peer "* &&
  -s $OUT/ours-$scenario.json && -s $OUT/peer-$scenario.json ]]; then
  echo
  "$OUT/loadgen" -compare "$OUT/ours-$scenario.json" "$OUT/peer-$scenario.json"
fi
echo
echo "results: $OUT/{ours,peer}-$scenario.json   server logs: $OUT/{ours,peer}-$scenario.log"
