#!/usr/bin/python3
"""bench/run.sh's parser and report writer.

  report.py wrk <wrk output>                      -> "requests,rps,p99_ms,socket_errors,non2xx"
  report.py h2load <h2load output> <log file>     -> the same fields (p99 computed from the per-request log)
  report.py report <csv> <md> <client threshold>  -> prints the summary and ratio tables and writes them to <md>
"""
import csv
import math
import re
import statistics
import sys


def unit_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(path):
    text = open(path).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        return "0,0,nan,-1,-1"  # wrk failed: the report shows it as an error row
    rps = float(m.group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    p99_ms = unit_ms(*p99.groups()) if p99 else float("nan")
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    sock = sum(map(int, se.groups())) if se else 0
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return f"{total},{rps:.1f},{p99_ms:.3f},{sock},{int(n2.group(1)) if n2 else 0}"


def parse_h2load(path, log_path):
    text = open(path).read()
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", text)
    if not m:
        return "0,0,nan,-1,-1"
    rps = float(m.group(1))
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    done, failed, errored, timeout = int(req.group(3)), int(req.group(5)), int(req.group(6)), int(req.group(7))
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    non2xx = int(codes.group(3)) + int(codes.group(4)) if codes else 0
    times = []
    with open(log_path) as log:
        for line in log:
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] != "-1":
                times.append(int(parts[2]))
    times.sort()
    p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)] / 1000 if times else float("nan")
    return f"{done},{rps:.1f},{p99:.3f},{failed + errored + timeout},{non2xx}"


def fmt_rps(v):
    return f"{v / 1000:,.1f}k" if v >= 1000 else f"{v:,.0f}"


def fmt_ms(v):
    return "n/a" if v is None or math.isnan(v) else f"{v:.2f} ms"


# Issue #3, #4 and #11 targets: (row kinds, Hyperion path, transport or None, reference, minimum ratio).
TARGETS = [
    ("c50", "/hello", None, "kestrel", 1.6, "HandleStatic /hello >= 1.6x Kestrel at -c50 (or CLIENT-BOUND and >= 0.95x nginx)"),
    ("pipe16", "/hello", None, "kestrel", 1.5, "HandleStatic /hello >= 1.5x Kestrel pipelined"),
    ("*", "/dyn", None, "kestrel", 1.3, "dynamic-block /hello >= 1.3x Kestrel"),
    ("*", "/app", None, "kestrel", 1.1, "Rack app /hello >= 1.1x Kestrel"),
    ("*", "/json", None, "kestrel", 1.2, "/json >= 1.2x Kestrel /json"),
    ("api", "/todos/42", None, "kestrel", 1.3, "route template /todos/{id} (JSON) >= 1.3x Kestrel minimal API MapGet"),
    ("api-mw", "/todos/42", None, "kestrel", 1.2, "the same route with compression + CORS middleware >= 1.2x Kestrel UseResponseCompression + UseCors"),
    ("c256", "/hello", "iouring", "sockets", 1.2, "io_uring HandleStatic -c256 >= 1.2x sockets"),
    ("*", "*", "iouring", "sockets", 1.0, "every io_uring row >= its socket row"),
]


def report(csv_path, md_path, client_threshold):
    rows = list(csv.DictReader(open(csv_path)))
    groups = {}
    for r in rows:
        groups.setdefault((r["row"], r["target"]), []).append(r)
    row_order = []
    for r in rows:
        if r["row"] not in row_order:
            row_order.append(r["row"])

    summary = {}
    for (row, target), trials in groups.items():
        rps = [float(t["rps"]) for t in trials]
        p99 = [float(t["p99_ms"]) for t in trials if t["p99_ms"] not in ("nan", "")]
        p99 = [p for p in p99 if not math.isnan(p)]
        t0 = trials[0]
        s = {
            "row": row, "target": target, "server": t0["server"], "transport": t0["transport"], "path": t0["path"],
            "pipelined": int(t0["pipeline"]) > 1, "n": len(trials),
            "median": statistics.median(rps), "min": min(rps), "max": max(rps),
            "p99": statistics.median(p99) if p99 and int(t0["pipeline"]) == 1 else float("nan"),
            "sock": sum(int(t["socket_errors"]) for t in trials), "non2xx": sum(int(t["non2xx"]) for t in trials),
            "server_cpu": statistics.median(float(t["server_cpu_pct"]) for t in trials),
            # Requests per second of server CPU: steadier than r/s when other tenants share the machine.
            "per_cpu": statistics.median(float(t["rps"]) * 100 / max(1.0, float(t["server_cpu_pct"])) for t in trials),
            "client_cpu": statistics.median(float(t["client_cpu_pct"]) for t in trials),
            "client_core": statistics.median(float(t["client_core_busy_pct"]) for t in trials),
            "server_core": statistics.median(float(t["server_core_busy_pct"]) for t in trials),
        }
        flags = []
        if s["client_core"] >= client_threshold:
            flags.append("CLIENT-BOUND" + (" (core shared)" if s["client_cpu"] < 0.85 * s["client_core"] else ""))
        if s["server_core"] >= 95 and s["server_cpu"] < 85:
            flags.append("server core contended")
        if s["sock"] or s["non2xx"]:
            flags.append("ERRORS")
        s["flags"] = ", ".join(flags)
        summary[(row, target)] = s

    out = []
    meta = rows[0] if rows else {}
    out.append(f"Run {meta.get('run_id', '?')}: {len(rows)} trials; wrk/h2load duration {meta.get('duration_s', '?')} s each, "
               f"interleaved per row; CLIENT-BOUND = load generator's core(s) >= {client_threshold:.0f}% busy.")
    out.append("")
    out.append("| row | target | median r/s | min–max | p99 (median) | sock err | non-2xx | server CPU | req per server CPU-s | client CPU (core) | flag |")
    out.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for row in row_order:
        for (r, target), s in summary.items():
            if r != row:
                continue
            out.append(f"| {row} | {target} | {fmt_rps(s['median'])} | {fmt_rps(s['min'])}–{fmt_rps(s['max'])} | "
                       f"{'—' if s['pipelined'] else fmt_ms(s['p99'])} | {s['sock']} | {s['non2xx']} | {s['server_cpu']:.0f}% | {fmt_rps(s['per_cpu'])} | "
                       f"{s['client_cpu']:.0f}% ({s['client_core']:.0f}%) | {s['flags']} |")

    def ref(row, server, transport, path):
        for (r, _), s in summary.items():
            if r == row and s["server"] == server and s["path"] == path and (transport is None or s["transport"] == transport):
                return s
        return None

    def ratio(a, b):
        return a["median"] / b["median"] if a and b and b["median"] > 0 else None

    def fmt_ratio(v):
        return "—" if v is None else f"{v:.2f}×"

    out.append("")
    out.append("Ratios of medians from the same run (Kestrel on the same path where it serves it: /hello, /json, /todos/42; Kestrel /hello for /dyn and /app):")
    out.append("")
    out.append("| row | Hyperion target | ÷ Kestrel | ÷ nginx | ÷ its sockets row | req/CPU-s ÷ Kestrel | p99 vs Kestrel |")
    out.append("|---|---|---:|---:|---:|---:|---|")
    ratios = []
    for row in row_order:
        for (r, target), s in summary.items():
            if r != row or s["server"] != "hyperion":
                continue
            # Kestrel on the same path when it serves one (/json, /todos/42), else Kestrel /hello (for /dyn, /app).
            k = ref(row, "kestrel", None, s["path"]) or ref(row, "kestrel", None, "/hello")
            n = ref(row, "nginx", None, "/hello") if s["path"] in ("/hello", "/dyn", "/app") else None
            sock = ref(row, "hyperion", "sockets", s["path"]) if s["transport"] != "sockets" else None
            rk, rn, ru = ratio(s, k), ratio(s, n), ratio(s, sock)
            p99cmp = "—"
            if k and not s["pipelined"] and not math.isnan(s["p99"]) and not math.isnan(k["p99"]):
                p99cmp = f"{s['p99']:.2f} vs {k['p99']:.2f} ms" + (" (worse)" if s["p99"] > k["p99"] else "")
            eff = s["per_cpu"] / k["per_cpu"] if k and k["per_cpu"] > 0 else None
            out.append(f"| {row} | {target} | {fmt_ratio(rk)} | {fmt_ratio(rn)} | {fmt_ratio(ru)} | {fmt_ratio(eff)} | {p99cmp} |")
            ratios.append((row, s, rk, rn, ru, k, n))

    out.append("")
    out.append("Issue targets (#3, #4, #11) on this run:")
    out.append("")
    for rowsel, path, transport, against, need, text in TARGETS:
        seen = []
        for row, s, rk, rn, ru, k, n in ratios:
            if rowsel != "*" and row != rowsel:
                continue
            if path != "*" and s["path"] != path:
                continue
            if transport and s["transport"] != transport:
                continue
            value = ru if against == "sockets" else rk
            if value is None:
                continue
            ok = value >= need
            if not ok and rowsel == "c50" and path == "/hello" and against == "kestrel" and "CLIENT-BOUND" in s["flags"] and rn is not None:
                ok = rn >= 0.95
                value_text = f"{value:.2f}× Kestrel, CLIENT-BOUND at {rn:.2f}× nginx"
            else:
                value_text = f"{value:.2f}×"
            seen.append(f"{row} {s['target']} {value_text} {'met' if ok else 'MISSED'}")
        out.append(f"- {text}: " + ("; ".join(seen) if seen else "no such rows in this run"))

    text = "\n".join(out)
    print(text)
    with open(md_path, "w") as md:
        md.write(text + "\n")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wrk":
        print(parse_wrk(sys.argv[2]))
    elif cmd == "h2load":
        print(parse_h2load(sys.argv[2], sys.argv[3]))
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")
