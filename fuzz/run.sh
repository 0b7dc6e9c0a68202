#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS — build the harness (Release), instrument Hyperion.Core and Hyperion.Http2 with
# SharpFuzz, run afl-fuzz on TARGET (http1, hpack, h2frames, h2headers) for SECONDS, print what it reached.
# Exits 1 when a crash or hang was saved (the inputs are listed; copy them to fuzz/regressions/TARGET/ and
# Hyperion.Tests replays them), 2 on a usage or setup error.
#   FUZZ_OUT=dir      where builds and findings go (default fuzz/out, ignored by git)
#   FUZZ_RESUME=1     continue from the queue a previous run of TARGET left in FUZZ_OUT
#   FUZZ_NO_BUILD=1   reuse the instrumented build already in FUZZ_OUT/bin
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
targets="http1 hpack h2frames h2headers"
if [ $# -ne 2 ] || ! [[ " $targets " == *" $1 "* ]] || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh TARGET SECONDS   (TARGET: ${targets// /, })" >&2
  exit 2
fi
target=$1 seconds=$2
out=${FUZZ_OUT:-$here/out}
bin=$out/bin
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found (Debian: apt-get install afl++)" >&2; exit 2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "${FUZZ_NO_BUILD:-0}" != 1 ] || [ ! -f "$bin/Hyperion.Fuzz.dll" ]; then
  # A fresh folder each time: instrumenting a DLL twice fails, and publish would not replace an up-to-date copy.
  rm -rf "$bin"
  (cd "$here" && dotnet tool restore >/dev/null)
  dotnet publish "$here/Hyperion.Fuzz/Hyperion.Fuzz.csproj" -c Release -o "$bin" --nologo -v quiet >/dev/null
  for dll in Hyperion.Core.dll Hyperion.Http2.dll; do
    (cd "$here" && dotnet tool run sharpfuzz "$bin/$dll") >/dev/null
  done
fi

findings=$out/$target
input=(-i "$here/corpus/$target")
if [ "${FUZZ_RESUME:-0}" = 1 ] && [ -d "$findings/default/queue" ]; then
  input=(-i -)
else
  rm -rf "$findings"
fi
dict=()
[ -f "$here/dict/$target.dict" ] && dict=(-x "$here/dict/$target.dict")

# The target is `dotnet`, which AFL cannot see instrumentation in (SharpFuzz supplies it): skip that check.
# No CPU binding: the fuzzer shares the machine. Startup of the runtime is slow: a long fork-server timeout.
# One processor as far as .NET knows, so Program.cs can cap the thread pool at one thread.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
  AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000 AFL_QUIET=1 DOTNET_PROCESSOR_COUNT=1
set +e
timeout -k 10 $((seconds + 180)) afl-fuzz "${input[@]}" -o "$findings" "${dict[@]}" -t 5000 -m none -V "$seconds" \
  -- dotnet "$bin/Hyperion.Fuzz.dll" "$target" >"$out/$target.log" 2>&1
rc=$?
set -e

stats=$findings/default/fuzzer_stats
if [ ! -f "$stats" ]; then
  echo "afl-fuzz did not start (exit $rc); last lines of $out/$target.log:" >&2
  tail -20 "$out/$target.log" >&2
  exit 2
fi
get() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(get saved_crashes) hangs=$(get saved_hangs)
echo "fuzz $target: ${seconds}s, execs $(get execs_done) ($(get execs_per_sec)/s), corpus $(get corpus_count)," \
  "edges $(get edges_found)/$(get total_edges), bitmap $(get bitmap_cvg), stability $(get stability)," \
  "crashes $crashes, hangs $hangs"
if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
  echo "findings (replay: dotnet $bin/Hyperion.Fuzz.dll $target FILE):"
  find "$findings/default/crashes" "$findings/default/hangs" -type f ! -name README.txt 2>/dev/null | sed 's/^/  /'
  exit 1
fi
