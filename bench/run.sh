#!/usr/bin/env bash
# bench/run.sh: Hyperion against Kestrel and nginx, in one run, on the same machine at the same time.
#
#   bench/run.sh [--quick] [--full] [--trials N] [--duration S] [--warmup S] [--no-build] [--no-nginx]
#
# What it does (see bench/RESULTS.md and the shared BENCHMARKING.md for why):
#   1. builds bench/HyperionBench and bench/peers/KestrelHello in Release; installs Debian's wrk (and nghttp2-client
#      for h2load) when missing, or says which package to install;
#   2. starts every server at once, each in its own process group (setsid), pinned to SERVER_CPUS (default core 0):
#      Hyperion on io_uring, on epoll and on System.Net.Sockets (one loop each), Kestrel (minimal API), nginx (1 worker);
#   3. warms each .NET server up for WARMUP s (default 30; .NET on one pinned core needs 20-35 s before
#      tiered/PGO code settles), split over its paths, half plain and half pipelined;
#   4. runs each row's trials interleaved (A, B, C, A, B, C ...) with wrk pinned to CLIENT_CPUS (default core 1),
#      recording server and client CPU per trial, and flags CLIENT-BOUND when the client's core is >= 95% busy;
#   5. prints median r/s, min-max, p99 (non-pipelined rows), socket errors and non-2xx, and ratio tables
#      (Hyperion/Kestrel, Hyperion/nginx, Hyperion/its sockets row), and writes bench/results/<UTC time>.csv and .md.
#   It stops only the process groups it started (trap on exit).
#
# Rows (default) and time budget, with TRIALS=3, DURATION=5 s, ~0.4 s between trials plus the wait until the server
# core is idle again (wait_server_idle, usually 0.1-0.5 s: the previous server may still be closing its connections):
#   c50     wrk -t1 -c50  : Hyperion {/hello static, /dyn, /app, /json} x {io_uring, epoll} + sockets /hello,
#                           Kestrel {/hello, /json}, nginx /hello                     = 12 targets
#   c256    wrk -t1 -c256 : Hyperion /hello x {io_uring, epoll}, Kestrel /hello, nginx /hello  =  4 targets
#   pipe16  wrk -t1 -c256, 16 requests per write (lua/pipeline.lua): Hyperion {/hello, /dyn} x {io_uring, epoll},
#                           Kestrel /hello, nginx /hello                             =  6 targets
#   h2c     h2load -c50 -m10: Hyperion /hello x {io_uring, epoll}, Kestrel h2c /hello =  3 targets
#   api     wrk -t1 -c50  : GET /todos/42, a route template answering a small JSON object (source-generated
#                           System.Text.Json): Hyperion x {io_uring, epoll}, Kestrel minimal API MapGet  =  3 targets
#   api-mw  wrk -t1 -c50, lua/api-mw.lua (Accept-Encoding: gzip, br and an Origin): the same route on each server's
#                           middleware port (Hyperion: ResponseCompression + Cors; Kestrel: UseResponseCompression +
#                           UseCors, ASP.NET Core's defaults)                                          =  3 targets
#   31 targets x 3 trials x 5.4 s = 502 s; warm-up 3 .NET servers x 30 s + sockets 20 s = 110 s (+2 s nginx,
#   12 s h2c each); start-up and readiness ~10 s; build ~5 s when up to date.  Total ~11 min.
#   Sockets (System.Net.Sockets) is the portable transport that Auto never picks on Linux; --full gives it every row.
#   --full runs every target on every row (45 x 3 x 5.4 s + 120 s = ~15 min).
#   --quick: WARMUP=3, DURATION=1, TRIALS=3 (~2 min): a smoke test of the harness; its numbers mean nothing.
#
# Env: SERVER_CPUS, CLIENT_CPUS (taskset lists), WRK_THREADS (1), PIPELINE_DEPTH (16), WARMUP, DURATION, TRIALS,
#      WARMUP_H2C (12), CLIENT_BOUND_PCT (95), NGINX_BIN.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

WARMUP=${WARMUP:-30} DURATION=${DURATION:-5} TRIALS=${TRIALS:-3} WRK_THREADS=${WRK_THREADS:-1}
PIPELINE_DEPTH=${PIPELINE_DEPTH:-16} WARMUP_H2C=${WARMUP_H2C:-12} CLIENT_BOUND_PCT=${CLIENT_BOUND_PCT:-95}
full=0 build=1 use_nginx=1 quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; WARMUP=3; DURATION=1; TRIALS=3; WARMUP_H2C=2; shift ;;
    --full) full=1; shift ;;
    --trials) TRIALS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-nginx) use_nginx=0; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done

need_tool wrk wrk
need_tool h2load nghttp2-client
need_tool curl curl
if [ $use_nginx = 1 ] && [ -z "$NGINX_BIN" ]; then
  log "nginx is not installed: nginx rows skipped (apt-get install nginx-light to add them)"
  use_nginx=0
fi
[ $build = 1 ] && build_release HyperionBench peers/KestrelHello
[ -x "$HYPERION_BIN" ] && [ -x "$KESTREL_BIN" ] || die "Release builds missing; run without --no-build"

stamp=$(date -u +%Y-%m-%dT%H%M)
[ $quick = 1 ] && stamp="$stamp-quick"
mkdir -p "$BENCH_DIR/results"
csv_out="$BENCH_DIR/results/$stamp.csv"
md_out="$BENCH_DIR/results/$stamp.md"

# ---- servers -------------------------------------------------------------------------------------------------------
HS_PORT=18180 HU_PORT=18181 K_PORT=18182 K_H2C_PORT=18183 N_PORT=18184 HE_PORT=18185
HU_MW_PORT=18186 HE_MW_PORT=18187 K_MW_PORT=18188   # the api-mw row: each server's listener with middleware
start_hyperion $HS_PORT sockets; HS_PID=$STARTED_PID
start_hyperion $HU_PORT iouring $HU_MW_PORT; HU_PID=$STARTED_PID
start_hyperion $HE_PORT epoll $HE_MW_PORT; HE_PID=$STARTED_PID
start_kestrel $K_PORT $K_H2C_PORT $K_MW_PORT; K_PID=$STARTED_PID
N_PID=""
if [ $use_nginx = 1 ]; then start_nginx $N_PORT; N_PID=$STARTED_PID; fi
wait_ready "http://127.0.0.1:$HS_PORT/hello" "$HS_PID"
wait_ready "http://127.0.0.1:$HU_PORT/hello" "$HU_PID"
wait_ready "http://127.0.0.1:$HE_PORT/hello" "$HE_PID"
wait_ready "http://127.0.0.1:$K_PORT/hello" "$K_PID"
[ -n "$N_PID" ] && wait_ready "http://127.0.0.1:$N_PORT/hello" "$N_PID"
sleep 0.5
for f in "$BENCH_TMP"/hyperion-*.log "$BENCH_TMP"/kestrel-*.log; do log "$(head -1 "$f")"; done
grep -q "transport=IoUring" "$BENCH_TMP/hyperion-iouring-$HU_PORT.log" \
  || log "WARNING: the io_uring server is not running io_uring (see its banner above); its rows measure the fallback"
grep -q "transport=Epoll" "$BENCH_TMP/hyperion-epoll-$HE_PORT.log" || die "the epoll server is not running epoll (see its banner above)"

# Each response must be the same bytes: check the bodies once before measuring anything.
for u in "$HS_PORT/hello" "$HS_PORT/dyn" "$HS_PORT/app" "$HU_PORT/hello" "$HU_PORT/dyn" "$HU_PORT/app" "$HE_PORT/hello" "$HE_PORT/dyn" "$HE_PORT/app" "$K_PORT/hello" ${N_PID:+"$N_PORT/hello"}; do
  body=$(curl -fsS "http://127.0.0.1:$u") && [ "$body" = "Hello, World!" ] || die "http://127.0.0.1:$u answered '$body'"
done
for u in "$HS_PORT/json" "$HU_PORT/json" "$HE_PORT/json" "$K_PORT/json"; do
  body=$(curl -fsS "http://127.0.0.1:$u") && [ "$body" = '{"message":"Hello, World!"}' ] || die "http://127.0.0.1:$u answered '$body'"
done
# The api rows: the same JSON from every server, and on the middleware ports compressed and with the CORS header.
for p in $HU_PORT $HE_PORT $K_PORT $HU_MW_PORT $HE_MW_PORT $K_MW_PORT; do
  body=$(curl -fsS --compressed -H 'Origin: https://app.example' "http://127.0.0.1:$p/todos/42") \
    && [ "$body" = '{"id":42,"title":"Write the bench","done":false}' ] || die "http://127.0.0.1:$p/todos/42 answered '$body'"
done
for p in $HU_MW_PORT $HE_MW_PORT $K_MW_PORT; do
  head=$(curl -fsS -o /dev/null -D - -H 'Accept-Encoding: gzip, br' -H 'Origin: https://app.example' "http://127.0.0.1:$p/todos/42" | tr -d '\r')
  grep -qi '^content-encoding: br' <<<"$head" && grep -qi '^access-control-allow-origin: https://app.example' <<<"$head" \
    || die "the middleware port $p did not compress with br and answer CORS: $head"
done

# ---- targets and rows ----------------------------------------------------------------------------------------------
# target: "label server transport port path pgid"
declare -A T
T[hs-hello]="hyperion-sockets/hello hyperion sockets $HS_PORT /hello $HS_PID"
T[hs-dyn]="hyperion-sockets/dyn hyperion sockets $HS_PORT /dyn $HS_PID"
T[hs-app]="hyperion-sockets/app hyperion sockets $HS_PORT /app $HS_PID"
T[hs-json]="hyperion-sockets/json hyperion sockets $HS_PORT /json $HS_PID"
T[hu-hello]="hyperion-iouring/hello hyperion iouring $HU_PORT /hello $HU_PID"
T[hu-dyn]="hyperion-iouring/dyn hyperion iouring $HU_PORT /dyn $HU_PID"
T[hu-app]="hyperion-iouring/app hyperion iouring $HU_PORT /app $HU_PID"
T[hu-json]="hyperion-iouring/json hyperion iouring $HU_PORT /json $HU_PID"
T[he-hello]="hyperion-epoll/hello hyperion epoll $HE_PORT /hello $HE_PID"
T[he-dyn]="hyperion-epoll/dyn hyperion epoll $HE_PORT /dyn $HE_PID"
T[he-app]="hyperion-epoll/app hyperion epoll $HE_PORT /app $HE_PID"
T[he-json]="hyperion-epoll/json hyperion epoll $HE_PORT /json $HE_PID"
T[k-hello]="kestrel/hello kestrel - $K_PORT /hello $K_PID"
T[k-json]="kestrel/json kestrel - $K_PORT /json $K_PID"
[ -n "$N_PID" ] && T[n-hello]="nginx/hello nginx - $N_PORT /hello $N_PID"
T[hu-todo]="hyperion-iouring/todos hyperion iouring $HU_PORT /todos/42 $HU_PID"
T[he-todo]="hyperion-epoll/todos hyperion epoll $HE_PORT /todos/42 $HE_PID"
T[k-todo]="kestrel/todos kestrel - $K_PORT /todos/42 $K_PID"
T[hu-todo-mw]="hyperion-iouring/todos+mw hyperion iouring $HU_MW_PORT /todos/42 $HU_PID"
T[he-todo-mw]="hyperion-epoll/todos+mw hyperion epoll $HE_MW_PORT /todos/42 $HE_PID"
T[k-todo-mw]="kestrel/todos+mw kestrel - $K_MW_PORT /todos/42 $K_PID"

all_targets="hs-hello hs-dyn hs-app hs-json hu-hello hu-dyn hu-app hu-json he-hello he-dyn he-app he-json k-hello k-json n-hello"
if [ $full = 1 ]; then
  ROW_C50="$all_targets" ROW_C256="$all_targets" ROW_PIPE="$all_targets" SOCKETS_WARM_KEYS="hs-hello hs-dyn hs-app hs-json"
else
  # Sockets (System.Net.Sockets) is the portable transport, never chosen on Linux by Auto: /hello only by default.
  ROW_C50="hs-hello hu-hello hu-dyn hu-app hu-json he-hello he-dyn he-app he-json k-hello k-json n-hello"
  ROW_C256="hu-hello he-hello k-hello n-hello"
  ROW_PIPE="hu-hello hu-dyn he-hello he-dyn k-hello n-hello"
  SOCKETS_WARM_KEYS="hs-hello"
fi

echo "run_id,row,target,server,transport,path,trial,connections,pipeline,duration_s,requests,rps,p99_ms,socket_errors,non2xx,server_cpu_pct,client_cpu_pct,server_core_busy_pct,client_core_busy_pct" >"$csv_out"
client_cores=$(count_cores "$CLIENT_CPUS")

# Runs one load generator command pinned to CLIENT_CPUS and appends one CSV line. The subshell's `times` gives the
# load generator's own CPU; /proc/stat gives how busy the client and server cores were over the same interval.
measure() { # measure <row> <target key> <trial> <connections> <pipeline> <kind: wrk|h2load> <cmd...>
  local row=$1 key=$2 trial=$3 conns=$4 pipe=$5 kind=$6; shift 6
  local label server transport port path pgid
  read -r label server transport port path pgid <<<"${T[$key]}"
  local out="$BENCH_TMP/trial.out" h2log="/dev/shm/hyperion-bench-h2load.$$.log"
  local cpu0 cpu1 sb0 st0 sb1 st1 cb0 ct0 cb1 ct1 t0 t1
  wait_server_idle "$SERVER_CPUS"
  cpu0=$(group_cpu "$pgid"); read -r sb0 st0 < <(cores_ticks "$SERVER_CPUS"); read -r cb0 ct0 < <(cores_ticks "$CLIENT_CPUS")
  t0=$(date +%s.%N)
  ( taskset -c "$CLIENT_CPUS" "$@" >"$out" 2>&1; times >"$out.times" )
  t1=$(date +%s.%N)
  cpu1=$(group_cpu "$pgid"); read -r sb1 st1 < <(cores_ticks "$SERVER_CPUS"); read -r cb1 ct1 < <(cores_ticks "$CLIENT_CPUS")
  local parsed
  if [ "$kind" = h2load ]; then parsed=$(/usr/bin/python3 "$BENCH_DIR/report.py" h2load "$out" "$h2log"); rm -f "$h2log"
  else parsed=$(/usr/bin/python3 "$BENCH_DIR/report.py" wrk "$out"); fi
  local client_secs
  client_secs=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$out.times" | tr -d s)
  local line
  line=$(awk -v e0="$t0" -v e1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" -v cs="$client_secs" -v ncl="$client_cores" \
             -v sb="$((sb1 - sb0))" -v st="$((st1 - st0))" -v cb="$((cb1 - cb0))" -v ct="$((ct1 - ct0))" \
    'BEGIN { el = e1 - e0; printf "%.0f,%.0f,%.0f,%.0f", 100 * (c1 - c0) / hz / el, 100 * cs / el / ncl, st ? 100 * sb / st : 0, ct ? 100 * cb / ct : 0 }')
  echo "$stamp,$row,$label,$server,$transport,$path,$trial,$conns,$pipe,$DURATION,$parsed,$line" >>"$csv_out"
  local rps=${parsed#*,}; rps=${rps%%,*}
  log "$row trial $trial $label: $rps r/s (server/client/client-core CPU % $line)"
  grep -qE "Requests/sec|finished in" "$out" || { log "load generator failed:"; cat "$out" >&2; }
  # Keep the load generator's own words for any trial with errors (which kind: connect, read, write, timeout).
  if grep -qE "Socket errors|Non-2xx|[1-9][0-9]* (failed|errored|timeout)" "$out"; then
    { echo "== $row trial $trial $label: $*"; cat "$out"; } >>"$BENCH_DIR/results/$stamp-errors.txt"
    log "$row trial $trial $label had errors: kept in bench/results/$stamp-errors.txt"
  fi
}

wrk_cmd() { # wrk_cmd <connections> <pipeline depth> <duration> <url> [lua script for a non-pipelined row]
  local args=(wrk -t"$WRK_THREADS" -c"$1" -d"$3"s --timeout 5s --latency)
  if [ "$2" -gt 1 ]; then args+=(-s "$BENCH_DIR/lua/pipeline.lua" "$4" -- "$2")
  elif [ -n "${5:-}" ]; then args+=(-s "$BENCH_DIR/lua/$5" "$4")
  else args+=("$4"); fi
  echo "${args[@]}"
}

# ---- warm-up ---------------------------------------------------------------------------------------------------
warm() { # warm <seconds> <key>...
  local total=$1; shift
  local share=$(( (total + $# - 1) / $# )) key label server transport port path pgid
  for key in "$@"; do
    read -r label server transport port path pgid <<<"${T[$key]}"
    local plain=$(( (share + 1) / 2 )) piped=$(( share / 2 )) script=""
    [[ $key == *-mw ]] && script=api-mw.lua
    taskset -c "$CLIENT_CPUS" $(wrk_cmd 50 1 "$plain" "http://127.0.0.1:$port$path" $script) >/dev/null 2>&1
    [ $piped -gt 0 ] && taskset -c "$CLIENT_CPUS" $(wrk_cmd 256 "$PIPELINE_DEPTH" "$piped" "http://127.0.0.1:$port$path") >/dev/null 2>&1
  done
}
log "warm-up: ${WARMUP}s per .NET server (split over its paths), 2 s nginx"
warm "$([ $full = 1 ] && echo "$WARMUP" || echo $((WARMUP * 2 / 3)))" $SOCKETS_WARM_KEYS
warm "$WARMUP" hu-hello hu-dyn hu-app hu-json hu-todo hu-todo-mw
warm "$WARMUP" he-hello he-dyn he-app he-json he-todo he-todo-mw
warm "$WARMUP" k-hello k-json k-todo k-todo-mw
[ -n "$N_PID" ] && warm 2 n-hello

# ---- HTTP/1.1 rows, interleaved ------------------------------------------------------------------------------------
run_row() { # run_row <row name> <connections> <pipeline depth> <target keys> [lua script]
  local row=$1 conns=$2 pipe=$3 keys=$4 script=${5:-} trial key
  log "row $row: wrk -t$WRK_THREADS -c$conns -d${DURATION}s$([ "$pipe" -gt 1 ] && echo " pipelined x$pipe")${script:+ -s lua/$script}, $TRIALS trials interleaved over: $keys"
  for trial in $(seq "$TRIALS"); do
    for key in $keys; do
      [ -n "${T[$key]:-}" ] || continue
      local label server transport port path pgid
      read -r label server transport port path pgid <<<"${T[$key]}"
      measure "$row" "$key" "$trial" "$conns" "$pipe" wrk $(wrk_cmd "$conns" "$pipe" "$DURATION" "http://127.0.0.1:$port$path" $script)
    done
  done
}
run_row c50 50 1 "$ROW_C50"
run_row c256 256 1 "$ROW_C256"
run_row pipe16 256 "$PIPELINE_DEPTH" "$ROW_PIPE"
run_row api 50 1 "hu-todo he-todo k-todo"
run_row api-mw 50 1 "hu-todo-mw he-todo-mw k-todo-mw" api-mw.lua

# ---- h2c rows ------------------------------------------------------------------------------------------------------
# HTTP/2 cleartext (prior knowledge) rows: h2load -c50 -m10, Kestrel's Http2-only port as the reference.
# They run only when Hyperion itself answers h2c: probed with curl, never assumed from the build.
h2c_probe() { # h2c_probe <port> -> prints the HTTP version curl negotiated ("2" when h2c works)
  curl -s --http2-prior-knowledge --max-time 2 -o /dev/null -w '%{http_version}' "http://127.0.0.1:$1/hello" 2>/dev/null
}
hs_h2=$(h2c_probe $HS_PORT); hu_h2=$(h2c_probe $HU_PORT); he_h2=$(h2c_probe $HE_PORT); k_h2=$(h2c_probe $K_H2C_PORT)
[ $full = 1 ] || hs_h2=skipped
if [ "$hs_h2" = 2 ] || [ "$hu_h2" = 2 ] || [ "$he_h2" = 2 ]; then
  [ "$k_h2" = 2 ] || die "Kestrel's h2c port $K_H2C_PORT does not answer HTTP/2 (curl got '$k_h2')"
  T[k2-hello]="kestrel-h2c/hello kestrel - $K_H2C_PORT /hello $K_PID"
  h2_keys="k2-hello"
  [ "$hs_h2" = 2 ] && { T[hs2-hello]="hyperion-sockets-h2c/hello hyperion sockets $HS_PORT /hello $HS_PID"; h2_keys="hs2-hello $h2_keys"; }
  [ "$hu_h2" = 2 ] && { T[hu2-hello]="hyperion-iouring-h2c/hello hyperion iouring $HU_PORT /hello $HU_PID"; h2_keys="hu2-hello $h2_keys"; }
  [ "$he_h2" = 2 ] && { T[he2-hello]="hyperion-epoll-h2c/hello hyperion epoll $HE_PORT /hello $HE_PID"; h2_keys="he2-hello $h2_keys"; }
  h2_cmd() { # h2_cmd <duration> <port> [log]: h2load's per-request log goes to /dev/shm (on disk it halves h2load)
    echo h2load -c50 -m10 -t"$WRK_THREADS" -D "$1" ${3:+--log-file=$3} "http://127.0.0.1:$2/hello"
  }
  log "h2c warm-up: ${WARMUP_H2C}s per server"
  for key in $h2_keys; do
    read -r label server transport port path pgid <<<"${T[$key]}"
    taskset -c "$CLIENT_CPUS" $(h2_cmd "$WARMUP_H2C" "$port") >/dev/null 2>&1
  done
  log "row h2c-c50-m10: h2load -c50 -m10 -D $DURATION, $TRIALS trials interleaved over: $h2_keys"
  for trial in $(seq "$TRIALS"); do
    for key in $h2_keys; do
      read -r label server transport port path pgid <<<"${T[$key]}"
      measure h2c "$key" "$trial" 50 1 h2load $(h2_cmd "$DURATION" "$port" "/dev/shm/hyperion-bench-h2load.$$.log")
    done
  done
else
  log "h2c rows skipped: Hyperion does not answer HTTP/2 with prior knowledge on :$HS_PORT (curl got HTTP version '${hs_h2:-none}') or :$HU_PORT ('${hu_h2:-none}')"
fi

# ---- report ----------------------------------------------------------------------------------------------------
stop_all
{
  echo "# bench/run.sh $stamp"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); .NET $(dotnet --version 2>/dev/null); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); servers on cores $SERVER_CPUS, load generator on $CLIENT_CPUS; warm-up ${WARMUP}s per .NET server."
  echo
  echo "Commands: \`wrk -t$WRK_THREADS -c50 -d${DURATION}s --latency URL\`, \`wrk -t$WRK_THREADS -c256 -d${DURATION}s --latency URL\`, \`wrk -t$WRK_THREADS -c256 -d${DURATION}s -s bench/lua/pipeline.lua URL -- $PIPELINE_DEPTH\`, api-mw: \`wrk -t$WRK_THREADS -c50 -d${DURATION}s --latency -s bench/lua/api-mw.lua URL\`."
  [ $quick = 1 ] && { echo; echo "**--quick run: short warm-up and trials; these numbers only show the harness works.**"; }
  echo
} >"$md_out.head"
/usr/bin/python3 "$BENCH_DIR/report.py" report "$csv_out" "$md_out.body" "$CLIENT_BOUND_PCT"
cat "$md_out.head" "$md_out.body" >"$md_out"
rm -f "$md_out.head" "$md_out.body"
log "wrote $csv_out and $md_out"
