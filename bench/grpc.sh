#!/usr/bin/env bash
# bench/grpc.sh: Hyperion.Grpc against Kestrel + Grpc.AspNetCore.Server, in one run, serving the same Greeter
# (samples/Grpc's greet.proto and GreeterService.cs, compiled into both servers).
#
#   bench/grpc.sh [--quick] [--full] [--trials N] [--duration S] [--warmup S] [--no-build]
#
# What it does (the shared BENCHMARKING.md says why: pinning, interleaving, warm-up, CLIENT-BOUND):
#   1. builds bench/HyperionGrpc, bench/peers/KestrelGrpc and bench/tools/GrpcLoad in Release; makes a throwaway
#      ECDSA P-256 certificate for the TLS rows;
#   2. starts Hyperion on io_uring and on epoll (one loop each; --full adds System.Net.Sockets) and Kestrel, each
#      with an h2c port (HTTP/2 only) and a TLS port (h2 by ALPN), in its own process group pinned to SERVER_CPUS;
#   3. checks each listener once with curl: a SayHello reply and grpc-status 0 in the trailers;
#   4. warms each server up for WARMUP s (default 30), split over the rows' paths;
#   5. runs each row's trials interleaved (A, B, C, A, B, C ...), the load generator pinned to CLIENT_CPUS:
#        unary-h2c   h2load -c50 -m10, a pre-framed SayHello body (-d), http://  (h2load counts HTTP 200 only, so a
#        unary-tls   the same over https://    call is an error unless its 19 reply bytes arrived: DATA bytes / 19)
#        unary-net   GrpcLoad --mode unary (Grpc.Net.Client, 4 connections x 16 calls): errors by grpc-status
#        stream      GrpcLoad --client raw --mode server-stream, SayHellos with 100 replies per call, 4 connections x 16
#                    calls: messages/s, latency per call
#        bidi        GrpcLoad --client raw --mode bidi, Chat ping-pong, 4 connections x 32 calls (each the whole trial,
#                    one request then its reply, repeated): round trips/s, latency per round trip
#      The stream and bidi rows use GrpcLoad's own HTTP/2 client (bench/tools/GrpcLoad/Raw): Grpc.Net.Client spends
#      ~4-5 us of client CPU per streamed message and ~13-18 us per round trip, so on one client core it, not the
#      server, was the limit; the raw client spends well under 1 us and 1-3 us (busy-machine figures). It judges every
#      call by its trailers' grpc-status, its reply count (exactly 100) and the replies' bytes; RST_STREAM, GOAWAY and
#      a lost connection are errors too.
#      recording p50/p95/p99, server CPU over the trial (calls per server CPU-second) and the client's CPU; a row whose
#      load generator used >= CLIENT_BOUND_PCT of its core is flagged CLIENT-BOUND (compare per server CPU-second there);
#   6. allocation per unary call: SIGUSR2 makes each server print GC.GetTotalAllocatedBytes(true); read before and
#      after ALLOC_CALLS h2load calls (-c4 -m10, h2c), ALLOC_TRIALS times, median;
#   7. prints the tables and ratios and writes bench/results/<UTC time>-grpc.md and .csv.
#   It stops only the process groups it started (trap on exit).
#
# Time, defaults (TRIALS=3, DURATION=5): 3 servers x 5 rows x 3 trials x ~6 s = ~4.5 min, warm-up 3 x 30 s, builds,
# start-up and allocation ~30 s: about 7 min. --full (sockets too): about 9.5 min.
# --quick: WARMUP=3, DURATION=1, TRIALS=3, ALLOC_CALLS=5000 (about 2-3 min): a smoke test of the harness; its numbers
# mean little (and say so in the report).
#
# Env: SERVER_CPUS, CLIENT_CPUS (taskset lists), WARMUP, DURATION, TRIALS, ALLOC_CALLS (50000), ALLOC_TRIALS (3),
#      CLIENT_WARMUP (1: GrpcLoad's own warm-up per trial, not measured), CLIENT_BOUND_PCT (95).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

WARMUP=${WARMUP:-30} DURATION=${DURATION:-5} TRIALS=${TRIALS:-3} ALLOC_CALLS=${ALLOC_CALLS:-50000}
ALLOC_TRIALS=${ALLOC_TRIALS:-3} CLIENT_WARMUP=${CLIENT_WARMUP:-1} CLIENT_BOUND_PCT=${CLIENT_BOUND_PCT:-95}
full=0 build=1 quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; WARMUP=3; DURATION=1; TRIALS=3; ALLOC_CALLS=5000; CLIENT_WARMUP=0.5; shift ;;
    --full) full=1; shift ;;
    --trials) TRIALS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
done

need_tool h2load nghttp2-client
need_tool curl curl
need_tool openssl openssl
need_tool ss iproute2
HGRPC_BIN="$BENCH_DIR/HyperionGrpc/bin/Release/net10.0/HyperionGrpc"
KGRPC_BIN="$BENCH_DIR/peers/KestrelGrpc/bin/Release/net10.0/KestrelGrpc"
LOAD_BIN="$BENCH_DIR/tools/GrpcLoad/bin/Release/net10.0/GrpcLoad"
[ $build = 1 ] && build_release HyperionGrpc peers/KestrelGrpc tools/GrpcLoad
[ -x "$HGRPC_BIN" ] && [ -x "$KGRPC_BIN" ] && [ -x "$LOAD_BIN" ] || die "Release builds missing; run without --no-build"

stamp=$(date -u +%Y-%m-%dT%H%M)
[ $quick = 1 ] && stamp="$stamp-quick"
mkdir -p "$BENCH_DIR/results"
csv_out="$BENCH_DIR/results/$stamp-grpc.csv"
md_out="$BENCH_DIR/results/$stamp-grpc.md"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$BENCH_TMP/key.pem" -out "$BENCH_TMP/cert.pem" >/dev/null 2>&1 || die "openssl could not make a test certificate"
TLS_ARGS=(--tls-cert "$BENCH_TMP/cert.pem" --tls-key "$BENCH_TMP/key.pem")

# SayHello(name "world"), length-prefixed (PROTOCOL-HTTP2.md: flag 0, 4-byte big-endian length, the message):
# field 1, wire type 2 (0x0a), 5 bytes. Its reply "Hello, world" frames to 19 bytes of DATA (5 + 2 + 12).
UNARY_BODY="$BENCH_TMP/sayhello.bin"
printf '\x00\x00\x00\x00\x07\x0a\x05world' >"$UNARY_BODY"
REPLY_BYTES=19
SAYHELLO=/hyperion.samples.greet.Greeter/SayHello

# ---- servers -------------------------------------------------------------------------------------------------------
# Hyperion listens with SO_REUSEPORT, so a port another process already holds would be shared with it without an
# error, and part of every row's load would go there (the raw client then counts its answers as errors).
for port in 18281 18282 18283 18284 $([ $full = 1 ] && echo 18285 18286) 18287 18288; do
  [ -z "$(ss -Hltn "sport = :$port")" ] || die "port $port is already in use (ss -ltnp \"sport = :$port\")"
done
declare -A T   # key -> "label server transport h2c_port tls_port pid"
start_hgrpc() { # start_hgrpc <key> <transport> <h2c port> <tls port>
  DOTNET_TieredPGO=1 start_pinned "$BENCH_TMP/$1.log" "$HGRPC_BIN" --h2c-port "$3" --tls-port "$4" "${TLS_ARGS[@]}" --transport "$2" --loops 1
  T[$1]="hyperion-$2 hyperion $2 $3 $4 $STARTED_PID"
}
start_hgrpc hu iouring 18281 18282
start_hgrpc he epoll 18283 18284
[ $full = 1 ] && start_hgrpc hs sockets 18285 18286
start_pinned "$BENCH_TMP/k.log" "$KGRPC_BIN" --h2c-port 18287 --tls-port 18288 "${TLS_ARGS[@]}"
T[k]="kestrel kestrel - 18287 18288 $STARTED_PID"
KEYS="hu he"
[ $full = 1 ] && KEYS="hs $KEYS"
KEYS="$KEYS k"

# A listener is ready when one SayHello answers "Hello, world" with grpc-status 0 in its trailers.
grpc_check() { # grpc_check <url base> -> 0 when the reply and the trailer are right
  local out
  out=$(curl -sS -k --http2-prior-knowledge --max-time 2 -D - -o "$BENCH_TMP/reply.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' --data-binary @"$UNARY_BODY" "$1$SAYHELLO" 2>/dev/null | tr -d '\r') || return 1
  [ "$(wc -c <"$BENCH_TMP/reply.bin")" = "$REPLY_BYTES" ] && grep -q 'Hello, world' "$BENCH_TMP/reply.bin" && grep -qx 'grpc-status: 0' <<<"$out"
}
for key in $KEYS; do
  read -r label server transport h2c tls pid <<<"${T[$key]}"
  deadline=$(( SECONDS + 30 ))
  until grpc_check "http://127.0.0.1:$h2c"; do
    kill -0 "$pid" 2>/dev/null || die "$label exited; its log: $(cat "$BENCH_TMP/$key.log")"
    [ $SECONDS -lt $deadline ] || die "$label h2c port $h2c gives no SayHello reply with grpc-status 0 after 30 s"
    sleep 0.2
  done
  grpc_check "https://127.0.0.1:$tls" || die "$label TLS port $tls gives no SayHello reply with grpc-status 0"
  log "$(head -1 "$BENCH_TMP/$key.log")"
done
grep -q "transport=IoUring" "$BENCH_TMP/hu.log" || log "WARNING: the io_uring server is not running io_uring (see its banner above)"
grep -q "transport=Epoll" "$BENCH_TMP/he.log" || die "the epoll server is not running epoll (see its banner above)"

echo "run_id,row,target,server,transport,trial,duration_s,calls,messages,calls_per_s,messages_per_s,p50_ms,p95_ms,p99_ms,errors,error_detail,server_cpu_s,client_cpu_s,elapsed_s" >"$csv_out"

h2load_cmd() { # h2load_cmd <url> <duration> [log file]
  echo h2load -c50 -m10 -t1 -D "$2" ${3:+--log-file=$3} -d "$UNARY_BODY" -H content-type:application/grpc -H te:trailers "$1$SAYHELLO"
}
grpcload_cmd() { # grpcload_cmd <mode> <url> <duration> [client warm-up] [server pid]
  local shape
  case $1 in
    unary) shape="--connections 4 --concurrency 16" ;;
    server-stream) shape="--client raw --connections 4 --concurrency 16 --messages 100" ;;
    bidi) shape="--client raw --connections 4 --concurrency 32" ;;
    *) shape="" ;;
  esac
  echo "$LOAD_BIN" --url "$2" --mode "$1" $shape --duration "$3" --warmup "${4:-0}" ${5:+--server-pid $5}
}

# One trial: runs the load generator pinned to CLIENT_CPUS and appends a CSV line.
measure() { # measure <row> <key> <trial> <kind: h2load|grpcload> <url> <grpcload mode>
  local row=$1 key=$2 trial=$3 kind=$4 url=$5 mode=${6:-}
  local label server transport h2c tls pid
  read -r label server transport h2c tls pid <<<"${T[$key]}"
  local out="$BENCH_TMP/trial.out" h2log="/dev/shm/hyperion-grpc-h2load.$$.log" parsed
  wait_server_idle "$SERVER_CPUS"
  if [ "$kind" = h2load ]; then
    local cpu0 cpu1 t0 t1
    cpu0=$(group_cpu "$pid"); t0=$(date +%s.%N)
    ( taskset -c "$CLIENT_CPUS" $(h2load_cmd "$url" "$DURATION" "$h2log") >"$out" 2>&1; times >"$out.times" )
    t1=$(date +%s.%N); cpu1=$(group_cpu "$pid")
    local client_secs
    client_secs=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$out.times" | tr -d s)
    parsed=$(/usr/bin/python3 "$BENCH_DIR/grpc_report.py" h2load "$out" "$h2log" "$REPLY_BYTES" \
      "$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')" "$client_secs" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    rm -f "$h2log"
  else
    taskset -c "$CLIENT_CPUS" $(grpcload_cmd "$mode" "$url" "$DURATION" "$CLIENT_WARMUP" "$pid") >"$out" 2>&1
    parsed=$(/usr/bin/python3 "$BENCH_DIR/grpc_report.py" grpcload "$out")
  fi
  echo "$stamp,$row,$label,$server,$transport,$trial,$DURATION,$parsed" >>"$csv_out"
  log "$row trial $trial $label: $(cut -d, -f1-4,8,9 <<<"$parsed" | awk -F, '{ printf "%s calls, %s messages, %s calls/s, %s msg/s, %s errors (%s)", $1, $2, $3, $4, $5, $6 }')"
  if ! grep -qE "finished in|calls=" "$out"; then
    log "load generator failed:"; cat "$out" >&2
  fi
  if [ "$(cut -d, -f8 <<<"$parsed")" != 0 ]; then
    { echo "== $row trial $trial $label ($url)"; cat "$out"; } >>"$BENCH_DIR/results/$stamp-grpc-errors.txt"
  fi
}

# ---- warm-up ---------------------------------------------------------------------------------------------------
log "warm-up: ${WARMUP}s per server (unary h2c 1/3, unary TLS 1/6, server streaming 1/4, bidi 1/4)"
for key in $KEYS; do
  read -r label server transport h2c tls pid <<<"${T[$key]}"
  w() { awk -v t="$WARMUP" -v f="$1" 'BEGIN { v = int(t * f + 0.5); print v < 1 ? 1 : v }'; }   # whole seconds, for h2load -D
  taskset -c "$CLIENT_CPUS" $(h2load_cmd "http://127.0.0.1:$h2c" "$(w 0.3333)") >/dev/null 2>&1
  taskset -c "$CLIENT_CPUS" $(h2load_cmd "https://127.0.0.1:$tls" "$(w 0.1667)") >/dev/null 2>&1
  taskset -c "$CLIENT_CPUS" $(grpcload_cmd server-stream "http://127.0.0.1:$h2c" "$(w 0.25)") >/dev/null 2>&1
  taskset -c "$CLIENT_CPUS" $(grpcload_cmd bidi "http://127.0.0.1:$h2c" "$(w 0.25)") >/dev/null 2>&1
done

# ---- rows, interleaved -----------------------------------------------------------------------------------------
run_row() { # run_row <row> <kind> <scheme: h2c|tls> [grpcload mode]
  local row=$1 kind=$2 scheme=$3 mode=${4:-} trial key
  log "row $row: $TRIALS trials of ${DURATION}s interleaved over: $KEYS"
  for trial in $(seq "$TRIALS"); do
    for key in $KEYS; do
      local label server transport h2c tls pid url
      read -r label server transport h2c tls pid <<<"${T[$key]}"
      if [ "$scheme" = tls ]; then url="https://127.0.0.1:$tls"; else url="http://127.0.0.1:$h2c"; fi
      measure "$row" "$key" "$trial" "$kind" "$url" "$mode"
    done
  done
}
run_row unary-h2c h2load h2c
run_row unary-tls h2load tls
run_row unary-net grpcload h2c unary
run_row stream grpcload h2c server-stream
run_row bidi grpcload h2c bidi

# ---- allocation per unary call -----------------------------------------------------------------------------------
alloc_out="$BENCH_TMP/alloc.csv"
echo "target,trial,calls,bytes" >"$alloc_out"
alloc_mark() { # alloc_mark <key> <pid> -> the total_bytes the server printed on this SIGUSR2
  local before after
  before=$(grep -c '^alloc total_bytes=' "$BENCH_TMP/$1.log")
  kill -USR2 "$2"
  for _ in $(seq 40); do
    after=$(grep -c '^alloc total_bytes=' "$BENCH_TMP/$1.log")
    [ "$after" -gt "$before" ] && break
    sleep 0.05
  done
  grep '^alloc total_bytes=' "$BENCH_TMP/$1.log" | tail -1 | cut -d= -f2
}
log "allocation: $ALLOC_TRIALS x $ALLOC_CALLS unary calls per server (h2load -c4 -m10, h2c), GC.GetTotalAllocatedBytes(true) before and after"
for trial in $(seq "$ALLOC_TRIALS"); do
  for key in $KEYS; do
    read -r label server transport h2c tls pid <<<"${T[$key]}"
    wait_server_idle "$SERVER_CPUS"
    a0=$(alloc_mark "$key" "$pid")
    taskset -c "$CLIENT_CPUS" h2load -c4 -m10 -t1 -n "$ALLOC_CALLS" -d "$UNARY_BODY" -H content-type:application/grpc -H te:trailers \
      "http://127.0.0.1:$h2c$SAYHELLO" >"$BENCH_TMP/alloc.out" 2>&1
    a1=$(alloc_mark "$key" "$pid")
    done_calls=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$BENCH_TMP/alloc.out")
    echo "$label,$trial,${done_calls:-0},$(( ${a1:-0} - ${a0:-0} ))" >>"$alloc_out"
  done
done

# ---- report ----------------------------------------------------------------------------------------------------
stop_all
{
  echo "# bench/grpc.sh $stamp"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); .NET $(dotnet --version 2>/dev/null); $(h2load --version 2>&1 | head -1); servers on cores $SERVER_CPUS, load generator on $CLIENT_CPUS; warm-up ${WARMUP}s per server; $TRIALS trials of ${DURATION}s per row, interleaved; code at $(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)."
  echo
  echo "Commands: unary-h2c/-tls \`$(h2load_cmd 'URL' "$DURATION" | sed "s|$UNARY_BODY|sayhello.bin|")\` (body: 00 00000007 0a05 776f726c64); $(for m in unary-net:unary stream:server-stream bidi:bidi; do printf '%s `%s`; ' "${m%%:*}" "$(grpcload_cmd "${m#*:}" URL "$DURATION" "$CLIENT_WARMUP" PID | sed "s|$LOAD_BIN|GrpcLoad|")"; done | sed 's/; $/./')"
  [ $quick = 1 ] && { echo; echo "**--quick run: short warm-up and trials; these numbers only show the harness works.**"; }
  # A route the loop watchdog moved to the thread pool (LoopStall/RouteOffloaded) is served with a thread hop per
  # call from then on: the rows after it measure that, not the inline path. Say so instead of letting it pass.
  for key in $KEYS; do
    read -r label server transport h2c tls pid <<<"${T[$key]}"
    [ "$server" = hyperion ] || continue
    grep -h 'LoopStall\|Hyperion\[4[01]\]' "$BENCH_TMP/$key.log" 2>/dev/null | sed "s/^/**WARNING $label:** /; s/\$/  /"
  done
  echo
} >"$md_out.head"
/usr/bin/python3 "$BENCH_DIR/grpc_report.py" report "$csv_out" "$alloc_out" "$md_out.body" "$CLIENT_BOUND_PCT"
cat "$md_out.head" "$md_out.body" >"$md_out"
rm -f "$md_out.head" "$md_out.body"
log "wrote $csv_out and $md_out"
