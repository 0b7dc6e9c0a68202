#!/usr/bin/env bash
# bench/memory.sh: resident memory of Hyperion (each transport), Kestrel and nginx, and what an idle keep-alive
# connection costs each of them.
#
#   bench/memory.sh [--warmup S] [--counts "1000 10000"] [--no-build] [--no-nginx] [--live-heap]
#
# For each server, one at a time (pinned to SERVER_CPUS like run.sh, so .NET runs the same GC mode as in run.sh):
#   start      RSS 2 s after it answers its first request
#   warm       RSS 2 s after WARMUP s (default 10) of wrk -c50 on /hello
#   N idle     RSS 2 s after bench/tools/IdleClients holds N connections open, each having sent one request and
#              read its response (at most 200 connecting at once; the clients live in their own process because
#              10,000 client plus 10,000 server sockets exceed the 20,000 fd limit of one process)
#   closed     RSS 2 s after the server closed every connection the clients reset (RST, so no TIME_WAIT is left)
# KiB per idle connection = (RSS with N idle - warm RSS) / N; "marginal" is between the last two counts.
# Kernel socket buffers are not in RSS. Prints a markdown table and writes bench/results/memory-<UTC time>.md.
# --live-heap: after each RSS reading, SIGUSR1 makes the .NET servers run a full GC and print their live managed heap,
# which adds "live managed KiB/conn" (the forced GCs change later RSS readings, so it is not on by default).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

WARMUP=${WARMUP:-10} counts="1000 10000" build=1 use_nginx=1 live_heap=0
while [ $# -gt 0 ]; do
  case $1 in
    --warmup) WARMUP=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-nginx) use_nginx=0; shift ;;
    --live-heap) live_heap=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -z "$NGINX_BIN" ] && use_nginx=0
need_tool wrk wrk
[ $build = 1 ] && build_release HyperionBench peers/KestrelHello tools/IdleClients
# 10,000 sockets on either side: raise the soft fd limit to the hard one for everything started from here.
ulimit -n "$(ulimit -Hn)"
stamp=$(date -u +%Y-%m-%dT%H%M)
mkdir -p "$BENCH_DIR/results"
md_out="$BENCH_DIR/results/memory-$stamp.md"
max_count=0
for n in $counts; do [ "$n" -gt $max_count ] && max_count=$n; done
[ "$max_count" -lt "$(ulimit -n)" ] || die "fd limit $(ulimit -n) is too low for $max_count connections"

settle_rss() { sleep 2; group_rss_kib "$1"; }

# Live managed heap in bytes after a full GC (bench/HyperionBench and KestrelHello print it on SIGUSR1); empty for nginx.
live_heap_bytes() { # live_heap_bytes <pid> <log file>
  local before; before=$(grep -c '^heap live_bytes=' "$2")
  kill -USR1 "$1"
  for _ in $(seq 50); do
    [ "$(grep -c '^heap live_bytes=' "$2")" -gt "$before" ] && break
    sleep 0.1
  done
  grep '^heap live_bytes=' "$2" | tail -1 | cut -d= -f2
}

results=()
measure_server() { # measure_server <name> <port> <start function and args...>
  local name=$1 port=$2; shift 2
  "$@"; local pid=$STARTED_PID
  local url="http://127.0.0.1:$port/hello"
  wait_ready "$url" "$pid"
  local banner; banner=$(head -1 "$BENCH_TMP"/*-"$port".log 2>/dev/null)
  [ -n "$banner" ] && log "$banner"
  local start warm; start=$(settle_rss "$pid")
  taskset -c "$CLIENT_CPUS" wrk -t1 -c50 -d"${WARMUP}s" "$url" >/dev/null 2>&1
  warm=$(settle_rss "$pid")
  local base_fds; base_fds=$(group_fds "$pid")
  local logfile; logfile=$(ls "$BENCH_TMP"/*-"$port".log 2>/dev/null | head -1)
  local heap_warm="" heap_row=""
  if [ $live_heap = 1 ]; then
    case $name in hyperion*|kestrel*) heap_warm=$(live_heap_bytes "$pid" "$logfile") ;; esac
  fi
  log "$name: start $((start / 1024)) MiB, warm $((warm / 1024)) MiB, $base_fds fds"

  coproc IDLE { exec taskset -c "$CLIENT_CPUS" "$IDLE_BIN" --port "$port" --path /hello --concurrency 200 2>&1; }
  local idle_pid=$IDLE_PID n reply row="| $name | $((start / 1024)) | $((warm / 1024)) |" prev_n=0 prev_rss=$warm prev_rss_last=$warm rss
  local per=""
  for n in $counts; do
    echo "open $n" >&"${IDLE[1]}"
    read -r -t 120 reply <&"${IDLE[0]}" || die "IdleClients did not answer 'open $n'"
    [[ $reply == "ready $n errors 0" ]] || log "WARNING: IdleClients: $reply"
    rss=$(settle_rss "$pid")
    local fds; fds=$(group_fds "$pid")
    log "$name: $n idle connections: RSS $((rss / 1024)) MiB, fds $fds (+$((fds - base_fds)))"
    row="$row $((rss / 1024)) |"
    per="$per $(awk -v a="$rss" -v w="$warm" -v n="$n" 'BEGIN { printf "%.1f", (a - w) / n }') |"
    if [ -n "$heap_warm" ]; then
      local heap_n; heap_n=$(live_heap_bytes "$pid" "$logfile")
      heap_row="$heap_row $(awk -v a="$heap_n" -v w="$heap_warm" -v n="$n" 'BEGIN { printf "%.1f", (a - w) / n / 1024 }') |"
      log "$name: $n idle connections: live managed heap $((heap_n / 1024)) KiB (warm $((heap_warm / 1024)) KiB)"
    elif [ $live_heap = 1 ]; then
      heap_row="$heap_row n/a |"
    fi
    prev_n=$n; prev_rss_last=$prev_rss; prev_rss=$rss
  done
  echo "close" >&"${IDLE[1]}"
  wait "$idle_pid" 2>/dev/null
  # The server may take a while to tear 10,000 reset connections down: wait (up to 15 s) until its fds are back
  # near the baseline (the runtime may have opened a few of its own meanwhile, e.g. another epoll engine).
  local waited=0
  while [ "$(group_fds "$pid")" -gt $((base_fds + 16)) ] && [ $waited -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
  local closed; closed=$(settle_rss "$pid")
  log "$name: clients reset their connections: fds $(group_fds "$pid") (before the clients: $base_fds) after $((waited / 10)).$((waited % 10)) s, RSS $((closed / 1024)) MiB"
  local marginal="—"
  if [ "$(echo $counts | wc -w)" -ge 2 ]; then
    marginal=$(awk -v a="$prev_rss" -v b="$prev_rss_last" -v n="$prev_n" -v m="$(echo $counts | awk '{ print $(NF-1) }')" 'BEGIN { printf "%.1f", (a - b) / (n - m) }')
  fi
  results+=("$row $((closed / 1024)) |$per $marginal |$heap_row")
  stop_one "$pid"
  sleep 1
}

measure_server hyperion-sockets 18280 start_hyperion 18280 sockets
measure_server hyperion-iouring 18281 start_hyperion 18281 iouring
measure_server hyperion-epoll 18285 start_hyperion 18285 epoll
measure_server kestrel 18282 start_kestrel 18282 18283
[ $use_nginx = 1 ] && measure_server "nginx (1 worker)" 18284 start_nginx 18284

{
  echo "# bench/memory.sh $stamp"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); .NET $(dotnet --version 2>/dev/null); servers pinned to cores $SERVER_CPUS (workstation GC for .NET), clients on $CLIENT_CPUS; warm-up wrk -t1 -c50 -d${WARMUP}s /hello."
  echo
  header="| server | start MiB | warm MiB |" sep="|---|---:|---:|" per_header=""
  for n in $counts; do header="$header $n idle MiB |"; sep="$sep---:|"; per_header="$per_header KiB/conn @$n |"; done
  heap_header="" heap_sep=""
  if [ $live_heap = 1 ]; then
    for n in $counts; do heap_header="$heap_header live managed KiB/conn @$n |"; heap_sep="$heap_sep---:|"; done
  fi
  echo "$header closed MiB |$per_header marginal KiB/conn |$heap_header"
  echo "$sep---:|$(for n in $counts; do printf -- '---:|'; done)---:|$heap_sep"
  printf '%s\n' "${results[@]}"
  echo
  echo "KiB/conn @N = (RSS with N idle connections - warm RSS) / N; marginal = between the last two counts. Kernel socket memory is not in RSS."
} | tee "$md_out"
log "wrote $md_out"
