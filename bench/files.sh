#!/usr/bin/env bash
# bench/files.sh: file bodies (RackResponse.File) over HTTP/1.1 keep-alive, a 1 MiB and a 100 MiB file, against nginx
# (sendfile on) and Kestrel (PhysicalFile), in one run on the same machine.
#
#   bench/files.sh [--trials N] [--duration S] [--warmup S] [--no-build]
#
# Targets: Hyperion /file/* on io_uring, epoll and System.Net.Sockets (sendfile from the opened descriptor), Hyperion
# /copy/* on io_uring (the same file streamed through user memory: what file bodies cost before sendfile on the
# loops), Kestrel, nginx. Servers pinned to SERVER_CPUS (core 0), wrk -t1 to CLIENT_CPUS (core 1); trials interleaved
# (A, B, C, A, B, C ...). Rows: 1m with wrk -c16, 100m with wrk -c4. Prints median r/s, MiB/s, p99 and CPU per
# target (and server CPU per GiB sent: wrk's core is the limit on this box) and writes
# bench/results/files-<UTC time>.csv and .md. Stops only the process groups it started.
# Env: SERVER_CPUS, CLIENT_CPUS, WARMUP (10), DURATION (5), TRIALS (3), NGINX_BIN.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

WARMUP=${WARMUP:-10} DURATION=${DURATION:-5} TRIALS=${TRIALS:-3} build=1
while [ $# -gt 0 ]; do
  case $1 in
    --trials) TRIALS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done

need_tool wrk wrk
need_tool curl curl
[ -n "$NGINX_BIN" ] || need_tool nginx nginx-light
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
[ $build = 1 ] && build_release HyperionBench peers/KestrelHello

FILES="$BENCH_TMP/files"
mkdir -p "$FILES"
head -c $((1024 * 1024)) /dev/urandom >"$FILES/1m.bin"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$FILES/100m.bin"
# nginx started as root serves as its worker user (nobody): the files and the temp prefix must be readable by others.
chmod a+rx "$BENCH_TMP" "$FILES" && chmod a+r "$FILES"/*.bin

HU=18280 HE=18281 HS=18282 K=18283 N=18284
start_pinned "$BENCH_TMP/hu.log" "$HYPERION_BIN" --port $HU --transport iouring --loops 1 --files "$FILES"; HU_PID=$STARTED_PID
start_pinned "$BENCH_TMP/he.log" "$HYPERION_BIN" --port $HE --transport epoll --loops 1 --files "$FILES"; HE_PID=$STARTED_PID
start_pinned "$BENCH_TMP/hs.log" "$HYPERION_BIN" --port $HS --transport sockets --loops 1 --files "$FILES"; HS_PID=$STARTED_PID
start_pinned "$BENCH_TMP/k.log" "$KESTREL_BIN" --port $K --files "$FILES"; K_PID=$STARTED_PID
ndir="$BENCH_TMP/nginx"
mkdir -p "$ndir/logs" "$ndir/tmp"
sed -e "s/listen 127.0.0.1:8083;/listen 127.0.0.1:$N;/" -e "s|__FILES_DIR__|$FILES|" "$BENCH_DIR/nginx/files.conf" >"$ndir/nginx.conf"
start_pinned "$BENCH_TMP/nginx.log" "$NGINX_BIN" -p "$ndir/" -c "$ndir/nginx.conf" -e stderr; N_PID=$STARTED_PID

# key -> "label port path-prefix pgid"
declare -A T=(
  [hu]="hyperion-io_uring $HU /file $HU_PID" [he]="hyperion-epoll $HE /file $HE_PID" [hs]="hyperion-sockets $HS /file $HS_PID"
  [hc]="hyperion-io_uring-copy $HU /copy $HU_PID" [k]="kestrel $K /file $K_PID" [n]="nginx $N /file $N_PID"
)
KEYS="hu he hs hc k n"
for key in $KEYS; do
  read -r label port prefix pgid <<<"${T[$key]}"
  wait_ready "http://127.0.0.1:$port$prefix/1m" "$pgid"
  [ "$(curl -fsS "http://127.0.0.1:$port$prefix/1m" | cmp - "$FILES/1m.bin" && echo same)" = same ] || die "$label: /1m differs from the file"
done
grep -h "IsServerGC" "$BENCH_TMP"/hu.log "$BENCH_TMP"/k.log >&2

log "warm-up ${WARMUP}s per .NET target"
for key in hu he hs hc k; do
  read -r label port prefix pgid <<<"${T[$key]}"
  taskset -c "$CLIENT_CPUS" wrk -t1 -c16 -d"$WARMUP"s "http://127.0.0.1:$port$prefix/1m" >/dev/null 2>&1
done

stamp=$(date -u +%Y-%m-%dT%H%M)
mkdir -p "$BENCH_DIR/results"
csv="$BENCH_DIR/results/files-$stamp.csv"
echo "row,target,trial,connections,rps,mib_s,p99_ms,errors,server_cpu_pct,client_core_busy_pct" >"$csv"

measure() { # measure <row> <key> <trial> <connections>
  local row=$1 key=$2 trial=$3 conns=$4 label port prefix pgid out="$BENCH_TMP/trial.out"
  read -r label port prefix pgid <<<"${T[$key]}"
  wait_server_idle "$SERVER_CPUS"
  local c0 c1 cb0 ct0 cb1 ct1 t0 t1
  c0=$(group_cpu "$pgid"); read -r cb0 ct0 < <(cores_ticks "$CLIENT_CPUS"); t0=$(date +%s.%N)
  taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"$DURATION"s --timeout 10s --latency "http://127.0.0.1:$port$prefix/$row" >"$out" 2>&1
  t1=$(date +%s.%N); c1=$(group_cpu "$pgid"); read -r cb1 ct1 < <(cores_ticks "$CLIENT_CPUS")
  local line
  line=$(/usr/bin/python3 - "$out" "$t0" "$t1" "$c0" "$c1" "$CLK_TCK" "$((cb1 - cb0))" "$((ct1 - ct0))" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
t0, t1, c0, c1, hz, cb, ct = map(float, sys.argv[2:])
def ms(v, u): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
tr = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text)
mib = float(tr.group(1)) * {"B": 1 / 1048576, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[tr.group(2)]
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text)) + sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
el = t1 - t0
print(f"{rps:.1f},{mib:.0f},{ms(*p99.groups()) if p99 else 0:.1f},{errs},{100 * (c1 - c0) / hz / el:.0f},{100 * cb / ct if ct else 0:.0f}")
PY
)
  echo "$row,$label,$trial,$conns,$line" >>"$csv"
  log "$row trial $trial $label: $line (r/s, MiB/s, p99 ms, errors, server CPU %, client core %)"
}

for row in 1m 100m; do
  conns=$([ $row = 1m ] && echo 16 || echo 4)
  for trial in $(seq "$TRIALS"); do
    for key in $KEYS; do measure "$row" "$key" "$trial" "$conns"; done
  done
done

md="$BENCH_DIR/results/files-$stamp.md"
/usr/bin/python3 - "$csv" "$stamp" "$DURATION" "$TRIALS" >"$md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"# bench/files.sh {sys.argv[2]}: {sys.argv[4]} x {sys.argv[3]} s per target, interleaved; wrk -t1 -c16 (1m), -c4 (100m)\n")
print("| file | target | r/s (median, min-max) | MiB/s | p99 ms | errors | server CPU % | server CPU ms per GiB | client core % |")
print("|---|---|---|---|---|---|---|---|---|")
for row in ("1m", "100m"):
    for target in dict.fromkeys(r["target"] for r in rows):
        t = [r for r in rows if r["row"] == row and r["target"] == target]
        if not t: continue
        med = lambda k: statistics.median(float(r[k]) for r in t)
        rps = [float(r["rps"]) for r in t]
        print(f"| {row} | {target} | {med('rps'):.1f} ({min(rps):.1f}-{max(rps):.1f}) | {med('mib_s'):.0f} | {med('p99_ms'):.1f} | {sum(int(r['errors']) for r in t)} | {med('server_cpu_pct'):.0f} | {statistics.median(float(r['server_cpu_pct']) * 10 * 1024 / max(float(r['mib_s']), 1) for r in t):.0f} | {med('client_core_busy_pct'):.0f} |")
PY
cat "$md"
log "wrote $csv and $md"
