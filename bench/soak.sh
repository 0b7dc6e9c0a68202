#!/usr/bin/env bash
# bench/soak.sh: a stability test, not a throughput number. Runs wrk against one Hyperion transport for a chosen
# duration, samples the server's RSS and open fds every second, and prints a verdict:
#   RSS drift      mean RSS of the last minute vs the first minute (window = duration/4 when shorter than 4 min)
#   fds            peak open sockets/anonymous fds vs (before load + connections), and back at the baseline within 15 s
#   latency        wrk's p99 over the whole run
#   errors         wrk socket errors and non-2xx/3xx responses; the server still answers afterwards
# --mixed adds, for the whole run, h2c clients (h2load -c10 -m10), HTTPS keep-alive clients (wrk -c10 on a TLS port)
# and aborted connections (bench/tools/abuse.py reset, 2 tasks); their errors count too.
#
# Usage: bench/soak.sh [--transport sockets|iouring|epoll] [--duration 10m|600] [--connections 100] [--path /hello]
#                      [--port 18090] [--mixed] [--no-build]
# Env: SERVER_CPUS (default 0), CLIENT_CPUS (default 1). Writes bench/results/soak-<transport>-<UTC time>.txt and .csv.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

transport=iouring duration=600 connections=100 path=/hello port=18090 build=1 mixed=0
while [ $# -gt 0 ]; do
  case $1 in
    --transport) transport=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --mixed) mixed=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
case $duration in
  *m) duration=$(( ${duration%m} * 60 )) ;;
  *s) duration=${duration%s} ;;
esac
[[ $transport == sockets || $transport == iouring || $transport == epoll ]] || die "--transport must be sockets, iouring or epoll"

need_tool wrk wrk
[ $mixed = 1 ] && { need_tool h2load nghttp2-client; need_tool openssl openssl; }
[ $build = 1 ] && build_release HyperionBench
stamp=$(date -u +%Y-%m-%dT%H%M)
mkdir -p "$BENCH_DIR/results"
out="$BENCH_DIR/results/soak-$transport-$stamp.txt"
samples="$BENCH_DIR/results/soak-$transport-$stamp.csv"
exec > >(tee "$out") 2>&1

if [ $mixed = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -keyout "$BENCH_TMP/key.pem" -out "$BENCH_TMP/cert.pem" >/dev/null 2>&1 || die "openssl could not make a test certificate"
  tls_port=$((port + 1))
  DOTNET_TieredPGO=1 start_pinned "$BENCH_TMP/hyperion-$transport-$port.log" "$HYPERION_BIN" --port "$port" --transport "$transport" --loops 1 \
    --tls-port "$tls_port" --tls-cert "$BENCH_TMP/cert.pem" --tls-key "$BENCH_TMP/key.pem"
else
  start_hyperion "$port" "$transport"
fi
pid=$STARTED_PID
url="http://127.0.0.1:$port$path"
wait_ready "$url" "$pid"
sleep 1
banner=$(head -1 "$BENCH_TMP/hyperion-$transport-$port.log")
base_fds=$(socket_fds "$pid")
base_rss=$(group_rss_kib "$pid")
echo "soak: $banner"
echo "soak: $url, wrk -t1 -c$connections -d${duration}s, server on cores $SERVER_CPUS, wrk on $CLIENT_CPUS; $(date -u)"
echo "soak: before load: RSS $((base_rss / 1024)) MiB, $base_fds fds"

echo "t_s,rss_kib,fds,server_cpu_ticks" >"$samples"
# One sample a second, stamped with the real elapsed time: on a busy machine a sample can take longer than its slot.
# The server is one process, so /proc/<pid> is read directly (scanning every process would slow the sampler).
t0=${EPOCHREALTIME%.*}
(
  while [ ! -e "$BENCH_TMP/wrk.done" ]; do
    now=${EPOCHREALTIME%.*}
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    fds=$(socket_fds "$pid")
    cpu=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null)
    echo "$((now - t0)),$rss,$fds,$cpu" >>"$samples"
    frac=${EPOCHREALTIME#*.}
    sleep "0.$(printf '%06d' $(( 1000000 - 10#$frac )))"   # to the next whole second
  done
) &
sampler=$!

mixed_pids=()
if [ $mixed = 1 ]; then
  taskset -c "$CLIENT_CPUS" h2load -c10 -m10 -D "$duration" "http://127.0.0.1:$port$path" >"$BENCH_TMP/h2load.txt" 2>&1 & mixed_pids+=($!)
  taskset -c "$CLIENT_CPUS" wrk -t1 -c10 -d"${duration}s" --timeout 5s "https://127.0.0.1:$tls_port$path" >"$BENCH_TMP/wrk-tls.txt" 2>&1 & mixed_pids+=($!)
  taskset -c "$CLIENT_CPUS" /usr/bin/python3 "$BENCH_DIR/tools/abuse.py" reset "$port" "$duration" 2 >"$BENCH_TMP/aborted.txt" 2>&1 & mixed_pids+=($!)
fi
taskset -c "$CLIENT_CPUS" wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s --latency "$url" >"$BENCH_TMP/wrk.txt" 2>&1
[ ${#mixed_pids[@]} -gt 0 ] && wait "${mixed_pids[@]}"
touch "$BENCH_TMP/wrk.done"
wait "$sampler"
# Connections that ended mid-response linger up to 2 s (half-close, drain) before they close: wait up to 15 s for the
# fd count to come back to its level before the load.
waited=0
while [ "$(socket_fds "$pid")" -gt "$base_fds" ] && [ $waited -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
after_fds=$(socket_fds "$pid")
echo "soak: $((waited / 10)).$((waited % 10)) s after load: $after_fds fds, RSS $(( $(group_rss_kib "$pid") / 1024 )) MiB"
[ "$after_fds" -gt "$base_fds" ] && { echo "soak: fds still open 15 s after load:"; ls -l "/proc/$pid/fd" | awk 'NR > 1 { print $NF }' | sed 's/[0-9][0-9]*/N/g' | sort | uniq -c; }
alive=no
curl -fsS -o /dev/null --max-time 2 "$url" && alive=yes

cat "$BENCH_TMP/wrk.txt"
if [ $mixed = 1 ]; then
  echo "soak: h2c (h2load -c10 -m10):"; grep -E "requests:|status codes:|finished in" "$BENCH_TMP/h2load.txt"
  echo "soak: https (wrk -c10):"; grep -E "requests in|Socket errors|Non-2xx" "$BENCH_TMP/wrk-tls.txt"
  echo "soak: aborted connections: $(tail -1 "$BENCH_TMP/aborted.txt")"
  # Extra connections of the mixed clients: 10 h2c + 10 TLS + 2 aborting at a time.
  connections=$((connections + 22))
fi
/usr/bin/python3 - "$samples" "$BENCH_TMP/wrk.txt" "$duration" "$connections" "$base_fds" "$after_fds" "$alive" "$CLK_TCK" "$mixed" "$BENCH_TMP" <<'PY'
import csv, os, re, sys
samples, wrk_path, duration, conns, base_fds, after_fds, alive, clk, mixed, tmp = sys.argv[1:]
duration, conns, base_fds, after_fds, clk = int(duration), int(conns), int(base_fds), int(after_fds), int(clk)
# A sample field is empty when /proc could not be read at that instant; such samples are left out.
rows = [r for r in csv.DictReader(open(samples)) if all(r.values()) and int(r["t_s"]) <= duration]
win = 60 if duration >= 240 else max(1, duration // 4)
first = [int(r["rss_kib"]) for r in rows if 1 <= int(r["t_s"]) <= win]
last = [int(r["rss_kib"]) for r in rows if duration - win < int(r["t_s"]) <= duration]
f_mean, l_mean = sum(first) / len(first), sum(last) / len(last)
drift_kib = l_mean - f_mean
drift_pct = 100 * drift_kib / f_mean
peak_rss = max(int(r["rss_kib"]) for r in rows)
peak_fds = max(int(r["fds"]) for r in rows)
ticks = [int(r["server_cpu_ticks"]) for r in rows]
cpu_pct = 100 * (ticks[-1] - ticks[0]) / clk / max(1, int(rows[-1]["t_s"]) - int(rows[0]["t_s"]))
wrk = open(wrk_path).read()
def unit(v, u): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", wrk)
p99_ms = unit(*p99.groups()) if p99 else float("nan")
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
total = int(re.search(r"(\d+) requests in", wrk).group(1))
se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk)
sock_err = sum(map(int, se.groups())) if se else 0
n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
non2xx = int(n2.group(1)) if n2 else 0

rss_ok = drift_pct <= 10 or drift_kib <= 4096
fd_ok = peak_fds <= base_fds + conns + 8 and after_fds <= base_fds
mixed_err = 0
if mixed == "1":
    h2 = open(os.path.join(tmp, "h2load.txt")).read()
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", h2)
    mixed_err += int(m.group(2)) + int(m.group(3)) if m else 1
    tls = open(os.path.join(tmp, "wrk-tls.txt")).read()
    se2 = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", tls)
    n22 = re.search(r"Non-2xx or 3xx responses: (\d+)", tls)
    mixed_err += (sum(map(int, se2.groups())) if se2 else 0) + (int(n22.group(1)) if n22 else 0)
    if not re.search(r"requests in", tls):
        mixed_err += 1
err_ok = sock_err == 0 and non2xx == 0 and alive == "yes" and mixed_err == 0
per_min = {}
for r in rows:
    per_min.setdefault(int(r["t_s"]) // 60, []).append(int(r["rss_kib"]))
print()
print("RSS by minute (MiB): " + " ".join(f"{sum(v) / len(v) / 1024:.1f}" for _, v in sorted(per_min.items())))
print(f"verdict: RSS first {win}s mean {f_mean/1024:.1f} MiB, last {win}s mean {l_mean/1024:.1f} MiB: drift {drift_kib/1024:+.1f} MiB ({drift_pct:+.1f}%), peak {peak_rss/1024:.1f} MiB -> {'OK' if rss_ok else 'DRIFT'} (limit +10% or +4 MiB)")
print(f"verdict: fds before {base_fds}, peak {peak_fds} with {conns} connections (limit {base_fds + conns + 8}), after load (waited up to 15 s) {after_fds} -> {'OK' if fd_ok else 'LEAK?'}")
print(f"verdict: {total} requests, {rps:,.0f} r/s (shared machine: not a throughput number), p99 {p99_ms:.2f} ms, server CPU {cpu_pct:.0f}% of a core")
print(f"verdict: socket errors {sock_err}, non-2xx {non2xx}, mixed clients' errors {mixed_err}, answers after the soak: {alive} -> {'OK' if err_ok else 'ERRORS'}")
print(f"verdict: {'PASS' if rss_ok and fd_ok and err_ok else 'FAIL'}")
PY
echo "soak: samples in ${samples#"$REPO_DIR"/}"   # repository-relative: no path of this machine in the results
