#!/usr/bin/env bash
# bench/abuse.sh: what hostile clients cost the normal ones. Normal keep-alive clients (/hello, 50 connections) load
# one Hyperion transport, first alone (the baseline), then beside each abuser of bench/tools/abuse.py in turn, twice:
#   saturating   wrk -t1 -c50: as many requests as the server answers (throughput share under abuse)
#   fixed rate   h2load --h1 -c50 --rps R (default 400 per connection = 20,000 r/s, well under the server's capacity):
#                the latency a normal client sees at a steady load, per request from h2load's log (p99). On this
#                2-core machine the saturating wrk fills its core, so an abuser sharing that core also takes the load
#                generator's CPU; at a fixed rate the load generator needs a fraction of its core and the difference
#                from the baseline is the server's.
#   slowloris     5,000 connections sending a header byte every 10 s
#   noread        1,000 connections pipelining GETs of a 16 KiB static route and never reading
#   reset         connect, request, TCP reset, at full speed (issue #10 item 1's pattern)
#   rapidreset    h2c HEADERS + RST_STREAM at full speed
#   continuation  h2c HEADERS followed by endless CONTINUATION frames
#   clienthog     the control: a busy loop on the load generators' core and no traffic to the server at all. The
#                 abusers above run at full speed on that core too, so this row is the latency the shared client core
#                 alone adds; an abuse row near it shows the server added little.
# For each: normal r/s and p99 against the baseline (both phases), server RSS peak, errors seen by the normal
# clients (target 0, fixed-rate p99 within 2x, RSS bounded by the server's limits), whether the server still answers,
# and the abuser's own counts.
#
# Usage: bench/abuse.sh [--transport iouring|epoll|sockets] [--duration 20] [--rate 400] [--only kind,kind]
#                       [--port 18095] [--no-build]
# Env: SERVER_CPUS (default 0), CLIENT_CPUS (default 1; the load generators and the abuser share it).
# Writes bench/results/abuse-*.md.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
SHM_DIR=$(mktemp -d /dev/shm/hyperion-abuse.XXXXXX)
trap 'cleanup; rm -rf "$SHM_DIR"' EXIT
trap 'exit 130' INT TERM

transport=iouring duration=20 port=18095 build=1 only="" rate=400
while [ $# -gt 0 ]; do
  case $1 in
    --transport) transport=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ $transport == sockets || $transport == iouring || $transport == epoll ]] || die "--transport must be sockets, iouring or epoll"
kinds=(clienthog slowloris noread reset rapidreset continuation)
[ -n "$only" ] && IFS=, read -ra kinds <<<"$only"

need_tool wrk wrk
need_tool h2load nghttp2-client
/usr/bin/python3 -c 'import asyncio' || die "/usr/bin/python3 is needed for bench/tools/abuse.py"
# 5,000 slowloris sockets on each side: raise the soft limit to the hard one for the server and the abuser.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 12000 ] || log "ulimit -n is $(ulimit -n): slowloris at 5,000 connections may hit it"
[ $build = 1 ] && build_release HyperionBench

stamp=$(date -u +%Y-%m-%dT%H%M)
mkdir -p "$BENCH_DIR/results"
out="$BENCH_DIR/results/abuse-$transport-$stamp.md"

start_hyperion "$port" "$transport"; pid=$STARTED_PID
url="http://127.0.0.1:$port/hello"
wait_ready "$url" "$pid"
banner=$(head -1 "$BENCH_TMP/hyperion-$transport-$port.log")
log "warming up 20 s"
taskset -c "$CLIENT_CPUS" wrk -t1 -c50 -d20s "$url" >/dev/null 2>&1

# run_row <name> [abuser args]: after a 5 s head start for the abuser, wrk for $duration s, then h2load at the fixed
# rate for $duration s; RSS sampled every 0.2 s throughout.
run_row() {
  local name=$1; shift
  local abuser="" rss_file="$BENCH_TMP/rss-$name" abuse_out="$BENCH_TMP/abuse-$name.txt"
  wait_server_idle "$SERVER_CPUS"
  if [ "${1:-}" = --hog ]; then
    taskset -c "$CLIENT_CPUS" timeout "$2" sh -c 'while :; do :; done' >"$abuse_out" 2>&1 &
    abuser=$!
    sleep 5
  elif [ $# -gt 0 ]; then
    taskset -c "$CLIENT_CPUS" /usr/bin/python3 "$BENCH_DIR/tools/abuse.py" "$@" >"$abuse_out" 2>&1 &
    abuser=$!
    sleep 5
  fi
  : >"$rss_file"
  ( while [ ! -e "$BENCH_TMP/row.done" ]; do awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" >>"$rss_file"; sleep 0.2; done ) &
  local sampler=$!
  taskset -c "$CLIENT_CPUS" wrk -t1 -c50 -d"${duration}s" --timeout 5s --latency "$url" >"$BENCH_TMP/wrk-$name.txt" 2>&1
  # h2load's per-request log goes to /dev/shm: on disk it would slow the load generator. It is kept until the
  # report, which lays each row's slow requests over the server's CPU samples (bench/tools/cpuwatch.py).
  local h2log="$SHM_DIR/h2load-$name.log" cpu_file="$SHM_DIR/cpu-$name.txt"
  taskset -c "$CLIENT_CPUS" /usr/bin/python3 "$BENCH_DIR/tools/cpuwatch.py" sample "$pid" "$cpu_file" "$SHM_DIR/cpu.stop" &
  local watcher=$!
  taskset -c "$CLIENT_CPUS" h2load --h1 -c50 -t1 --rps "$rate" -D "$duration" --log-file="$h2log" "$url" >"$BENCH_TMP/fixed-$name.txt" 2>&1
  touch "$SHM_DIR/cpu.stop"; wait "$watcher"; rm -f "$SHM_DIR/cpu.stop"
  /usr/bin/python3 "$BENCH_DIR/report.py" h2load "$BENCH_TMP/fixed-$name.txt" "$h2log" >"$BENCH_TMP/fixed-$name.csv"
  touch "$BENCH_TMP/row.done"; wait "$sampler"; rm -f "$BENCH_TMP/row.done"
  [ -n "$abuser" ] && { wait "$abuser" || true; }
  local alive=no
  curl -fsS -o /dev/null --max-time 3 "$url" && alive=yes
  echo "$name|$(sort -n "$rss_file" | tail -1)|$alive|$(tail -1 "$abuse_out" 2>/dev/null)" >>"$BENCH_TMP/rows"
  cp "$BENCH_TMP/wrk-$name.txt" "$BENCH_DIR/results/abuse-$transport-$stamp-wrk-$name.txt" 2>/dev/null
  cp "$BENCH_TMP/fixed-$name.txt" "$BENCH_DIR/results/abuse-$transport-$stamp-fixed-$name.txt" 2>/dev/null
}

: >"$BENCH_TMP/rows"
log "baseline: wrk alone"
run_row baseline
abuse_seconds=$((2 * duration + 5))
for kind in "${kinds[@]}"; do
  log "row: $kind"
  case $kind in
    clienthog) run_row clienthog --hog "$abuse_seconds" ;;
    slowloris) run_row slowloris slowloris "$port" "$abuse_seconds" 5000 ;;
    noread) run_row noread noread "$port" "$abuse_seconds" 1000 /static16k ;;
    reset) run_row reset reset "$port" "$abuse_seconds" 8 ;;
    rapidreset) run_row rapidreset rapidreset "$port" "$abuse_seconds" 4 ;;
    continuation) run_row continuation continuation "$port" "$abuse_seconds" 4 ;;
    *) die "unknown kind $kind" ;;
  esac
done
log "a final baseline, so drift over the run shows"
run_row baseline-after

/usr/bin/python3 - "$BENCH_TMP" "$banner" "$transport" "$duration" "$rate" "$SHM_DIR" "$BENCH_DIR/tools/cpuwatch.py" >"$out" <<'PY'
import re, sys, os, subprocess
tmp, banner, transport, duration, rate, shm, cpuwatch = sys.argv[1:]
def unit(v, u): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
rows = []
for line in open(os.path.join(tmp, "rows")):
    name, rss, alive, counts = line.rstrip("\n").split("|", 3)
    wrk = open(os.path.join(tmp, f"wrk-{name}.txt")).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", wrk)
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk)
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
    errors = (sum(map(int, se.groups())) if se else 0) + (int(n2.group(1)) if n2 else 0)
    done, frps, fp99, ferr, fnon2xx = open(os.path.join(tmp, f"fixed-{name}.csv")).read().strip().split(",")
    errors += max(0, int(ferr)) + max(0, int(fnon2xx))
    rows.append((name, rps, unit(*p99.groups()) if p99 else float("nan"), float(frps), float(fp99), errors, int(rss or 0) / 1024, alive, counts))
base = rows[0]
target_rps = 50 * int(rate)
print(f"# bench/abuse.sh, {transport}, {duration} s per phase\n")
print(f"{banner}; server on core(s) {os.environ.get('SERVER_CPUS', '0')}, load generators and the abuser on {os.environ.get('CLIENT_CPUS', '1')}; "
      f"saturating: wrk -t1 -c50 /hello; fixed rate: h2load --h1 -c50 --rps {rate} (= {target_rps:,} r/s) /hello\n")
print("| row | saturating r/s | vs baseline | wrk p99 ms | fixed-rate r/s | fixed-rate p99 ms | p99 vs baseline | errors seen by normal clients | server RSS peak MiB | answers after | abuser counts |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, rps, p99, frps, fp99, errors, rss, alive, counts in rows:
    print(f"| {name} | {rps:,.0f} | {rps / base[1]:.2f}x | {p99:.2f} | {frps:,.0f} | {fp99:.2f} | {fp99 / base[4]:.2f}x | {errors} | {rss:.1f} | {alive} | {counts.split(' ', 1)[-1] if counts else ''} |")
# The fixed-rate phase decides latency: its load leaves the server room, so its p99 is what abuse adds. A fixed-rate
# phase that fell below 95% of its rate means the server (or the shared client core) could not keep up.
measured = [r for r in rows if r[0] != "clienthog"]
verdict = all(r[5] == 0 and r[7] == "yes" and r[4] <= 2 * base[4] and r[3] >= 0.95 * target_rps for r in measured)
print(f"\nverdict: {'PASS' if verdict else 'FAIL'} (0 errors; at the fixed rate, every request rate held and p99 within 2x of the baseline; server answers after every row)")
# Attribution: the fixed-rate requests slower than twice the baseline's p99, and how many of them overlapped a
# 20 ms window in which the server used >= 80% of its core. The rest waited outside the server.
print(f"\nslow fixed-rate requests (> 2x the baseline p99, {2 * base[4]:.2f} ms) against the server's CPU (sampled every 10 ms):\n")
print("| row | server's busiest 20 ms | slow requests | of them while the server was >= 80% busy |")
print("|---|---:|---:|---:|")
for r in rows:
    got = subprocess.run(["/usr/bin/python3", cpuwatch, "attribute", os.path.join(shm, f"cpu-{r[0]}.txt"), os.path.join(shm, f"h2load-{r[0]}.log"), str(2 * base[4])],
                         capture_output=True, text=True).stdout.strip() or "nan,0,0"
    busiest, slow, in_busy = got.split(",")
    print(f"| {r[0]} | {busiest}% | {slow} | {in_busy} |")
control = next((r for r in rows if r[0] == "clienthog"), None)
if control:
    # The abusers share the load generators' core: the control row is the p99 that sharing alone costs.
    print("against the client-core control (a busy loop on that core, no abuse): " + ", ".join(
        f"{r[0]} {r[4] / control[4]:.2f}x" for r in measured if r[0] not in ("baseline", "baseline-after")))
PY
cat "$out"
echo "abuse: $out"
