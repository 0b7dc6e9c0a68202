# Shared by bench/run.sh, bench/memory.sh and bench/soak.sh (sourced, not run).
# Starts servers in their own process groups, waits for them, measures them, and stops only what it started.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
SERVER_CPUS=${SERVER_CPUS:-0}   # taskset list for every server
CLIENT_CPUS=${CLIENT_CPUS:-1}   # taskset list for wrk / h2load / IdleClients
CLK_TCK=$(getconf CLK_TCK)

HYPERION_BIN="$BENCH_DIR/HyperionBench/bin/Release/net10.0/HyperionBench"
KESTREL_BIN="$BENCH_DIR/peers/KestrelHello/bin/Release/net10.0/KestrelHello"
IDLE_BIN="$BENCH_DIR/tools/IdleClients/bin/Release/net10.0/IdleClients"
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })}

STARTED_PGIDS=()
BENCH_TMP=$(mktemp -d /tmp/hyperion-bench.XXXXXX)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Installs a Debian package when its command is missing: as root directly, otherwise by asking for sudo.
need_tool() { # need_tool <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  log "$1 is missing; installing Debian package $2"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2 \
      || { $sudo apt-get update -qq >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2; }
  fi
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: please install the '$2' package (apt-get install $2)"
}

build_release() { # build_release <project dir>...
  local p
  for p in "$@"; do
    log "dotnet build $p -c Release"
    dotnet build "$BENCH_DIR/$p" -c Release -nologo -v q -clp:ErrorsOnly >&2 || die "build of $p failed"
  done
}

# Starts a command pinned to SERVER_CPUS in a new session (its own process group); sets STARTED_PID (= its PGID).
# Call it directly, not in $(...): a subshell would lose STARTED_PGIDS.
# Without job control a background child is not a group leader, so setsid execs in place and $! is the server itself.
start_pinned() { # start_pinned <logfile> <cmd> [args...]
  local logfile=$1; shift
  setsid taskset -c "$SERVER_CPUS" "$@" >"$logfile" 2>&1 </dev/null &
  local pid=$!
  STARTED_PGIDS+=("$pid")
  STARTED_PID=$pid
}

start_hyperion() { # start_hyperion <port> <sockets|iouring|epoll> [middleware port] -> STARTED_PID
  DOTNET_TieredPGO=1 start_pinned "$BENCH_TMP/hyperion-$2-$1.log" "$HYPERION_BIN" --port "$1" --transport "$2" --loops 1 ${3:+--mw-port "$3"}
}

start_kestrel() { # start_kestrel <port> <h2c port> [middleware port] -> STARTED_PID
  start_pinned "$BENCH_TMP/kestrel-$1.log" "$KESTREL_BIN" --port "$1" --h2c-port "$2" ${3:+--mw-port "$3"}
}

start_nginx() { # start_nginx <port> -> STARTED_PID (master; the worker is in the same process group)
  local dir="$BENCH_TMP/nginx-$1"
  mkdir -p "$dir/logs" "$dir/tmp"
  sed "s/listen 127.0.0.1:8083;/listen 127.0.0.1:$1;/" "$BENCH_DIR/nginx/nginx.conf" >"$dir/nginx.conf"
  start_pinned "$BENCH_TMP/nginx-$1.log" "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e stderr
}

# Stops every process group this script started (and only those): TERM, then KILL after 5 s.
stop_all() {
  local pg
  for pg in "${STARTED_PGIDS[@]}"; do
    kill -TERM -- "-$pg" 2>/dev/null
  done
  for _ in $(seq 50); do
    local alive=0
    for pg in "${STARTED_PGIDS[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pg in "${STARTED_PGIDS[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
  STARTED_PGIDS=()
}

stop_one() { # stop_one <pgid>
  kill -TERM -- "-$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null
  return 0
}

cleanup() {
  stop_all
  rm -rf "$BENCH_TMP"
}

wait_ready() { # wait_ready <url> <pid> [seconds]
  local deadline=$(( SECONDS + ${3:-30} ))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$2" 2>/dev/null || die "server for $1 exited; log: $(ls "$BENCH_TMP"/*.log | tr '\n' ' ')"
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$1 not ready after ${3:-30} s"
}

# utime+stime (clock ticks) of every process in a process group: nginx's worker is the master's child.
# Fields after "(comm) ": $1 state, $3 pgrp, $12 utime, $13 stime.
group_cpu() { # group_cpu <pgid> -> ticks
  awk -v pg="$1" '
    BEGIN {
      # getline rather than file operands: a process that exits between the glob and the read must not abort the sum.
      for (i = 1; i < ARGC; i++) {
        if ((getline line < ARGV[i]) > 0) {
          sub(/^.*\) /, "", line); n = split(line, f, " ")
          if (f[3] == pg) t += f[12] + f[13]
        }
        close(ARGV[i])
      }
      print t + 0
    }' /proc/[0-9]*/stat
}

group_pids() { # group_pids <pgid> -> pids, one a line
  awk -v pg="$1" '
    BEGIN {
      for (i = 1; i < ARGC; i++) {
        if ((getline line < ARGV[i]) > 0) {
          pid = line; sub(/ .*/, "", pid)
          sub(/^.*\) /, "", line); split(line, f, " ")
          if (f[3] == pg) print pid
        }
        close(ARGV[i])
      }
    }' /proc/[0-9]*/stat
}

# Resident set of a process group in KiB (sum of VmRSS of its processes).
group_rss_kib() { # group_rss_kib <pgid>
  local total=0 pid kb
  for pid in $(group_pids "$1"); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    total=$(( total + ${kb:-0} ))
  done
  echo "$total"
}

# Open file descriptors of a process group.
group_fds() { # group_fds <pgid>
  local total=0 pid n
  for pid in $(group_pids "$1"); do
    n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    total=$(( total + n ))
  done
  echo "$total"
}

# Open sockets, eventfds and other anonymous descriptors of one process: what a connection leak leaves behind. Files
# the runtime opens lazily under load (an assembly, /dev/urandom for the first TLS handshake) are not counted.
socket_fds() { # socket_fds <pid>
  ls -l "/proc/$1/fd" 2>/dev/null | grep -cE 'socket:|anon_inode:'
}

# Busy ticks and total ticks of a set of cores from /proc/stat ("0", "1", "0-1", "0,2").
cores_ticks() { # cores_ticks <cpu list> -> "busy total"
  local list=$1 cpus=() part a b
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then a=${part%-*}; b=${part#*-}; cpus+=($(seq "$a" "$b")); else cpus+=("$part"); fi
  done
  awk -v want=" ${cpus[*]} " '
    /^cpu[0-9]+ / { n = substr($1, 4); if (index(want, " " n " ")) { idle = $5 + $6; tot = 0; for (i = 2; i <= 9; i++) tot += $i; busy += tot - idle; all += tot } }
    END { print busy + 0, all + 0 }' /proc/stat
}

# Waits (at most 3 s) until the server cores are nearly idle: a server that just lost 50-256 connections may still be
# closing them, and that work would otherwise land on the first seconds of the next target's trial.
wait_server_idle() { # wait_server_idle <cpu list>
  local b0 t0 b1 t1 i
  for i in $(seq 30); do
    read -r b0 t0 < <(cores_ticks "$1"); sleep 0.1; read -r b1 t1 < <(cores_ticks "$1")
    [ $((t1 - t0)) -gt 0 ] && [ $((100 * (b1 - b0) / (t1 - t0))) -lt 10 ] && return 0
  done
  log "server cores still busy after 3 s; measuring anyway"
}

count_cores() { # count_cores <cpu list>
  local n=0 part
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then n=$(( n + ${part#*-} - ${part%-*} + 1 )); else n=$(( n + 1 )); fi
  done
  echo "$n"
}
