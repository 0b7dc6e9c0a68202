#!/usr/bin/python3
"""Who made a request slow: the server, or the load generator's own core? (stdlib only)

  cpuwatch.py sample PID OUT STOPFILE
      Every 10 ms until STOPFILE exists, appends "epoch_us cpu_ns" to OUT: the CPU time all of PID's threads have
      run (/proc/PID/task/*/schedstat, nanoseconds). The server is pinned to one core, so over a window the
      difference divided by the window is its share of that core.
  cpuwatch.py attribute OUT H2LOAD_LOG SLOW_MS
      Reads the samples and h2load's per-request log (start time in us since epoch, status, duration in us) and
      prints "busiest_pct,slow,slow_server_busy": the server's highest CPU share over any 20 ms window while the
      requests ran, how many requests took longer than SLOW_MS, and how many of those overlapped a 20 ms window
      in which the server used at least 80% of its core. Slow requests that overlap no busy window waited somewhere
      else: on this 2-core machine, the load generator's core, which the abuser shares.
"""
import glob
import os
import sys
import time

# Short windows: a 30 ms stall at full CPU inside a quiet 100 ms would read as 40% and pass unnoticed.
WINDOW_US = 20_000
BUSY = 0.80


def cpu_ns(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between the listing and the read
    return total


def sample(pid, out, stop):
    with open(out, "w") as f:
        while not os.path.exists(stop) and os.path.exists(f"/proc/{pid}"):
            f.write(f"{time.time_ns() // 1000} {cpu_ns(pid)}\n")
            time.sleep(0.01)


def attribute(out, log, slow_ms):
    samples = []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                samples.append((int(parts[0]), int(parts[1])))
    requests = []
    with open(log) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] != "-1":
                start = int(parts[0])
                requests.append((start, start + int(parts[2])))
    if not samples or not requests:
        print("nan,0,0")
        return
    first, last = min(r[0] for r in requests), max(r[1] for r in requests)
    # Busy windows: for each sample, the CPU share over the 20 ms that end at it.
    busy = []
    busiest = 0.0
    j = 0
    for i, (t, ns) in enumerate(samples):
        while samples[j][0] < t - WINDOW_US:
            j += 1
        span = t - samples[j][0]
        if span < WINDOW_US // 2 or t < first or t - span > last:
            continue
        share = (ns - samples[j][1]) / 1000 / span
        busiest = max(busiest, share)
        if share >= BUSY:
            busy.append((samples[j][0], t))
    slow = [r for r in requests if r[1] - r[0] > slow_ms * 1000]
    in_busy = 0
    busy.sort()
    for start, end in slow:
        # Any busy window that overlaps the request (lists are small: a linear scan per slow request is enough).
        if any(b0 < end and b1 > start for b0, b1 in busy):
            in_busy += 1
    print(f"{busiest * 100:.0f},{len(slow)},{in_busy}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "attribute":
        attribute(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)
