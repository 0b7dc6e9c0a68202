#!/usr/bin/python3
"""bench/grpc.sh's parser and report writer.

  grpc_report.py h2load <h2load output> <log file> <reply bytes> <server cpu s> <client cpu s> <elapsed s>
  grpc_report.py grpcload <GrpcLoad output>
      -> "calls,messages,calls_per_s,messages_per_s,p50_ms,p95_ms,p99_ms,errors,error_detail,server_cpu_s,client_cpu_s,elapsed_s"
  grpc_report.py report <csv> <allocation csv> <md> <client threshold>  -> prints the tables and writes them to <md>

h2load counts any HTTP 200 as a success, and a gRPC error is an HTTP 200 (Trailers-Only): so an h2load call counts
as an error unless its reply message arrived, i.e. errors = done - (DATA bytes received / bytes of one framed reply),
plus h2load's own failed/errored/timeout and non-2xx. GrpcLoad reads every call's grpc-status from the trailers.
"""
import csv
import math
import re
import statistics
import sys


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1)]


def parse_h2load(path, log_path, reply_bytes, server_cpu, client_cpu, elapsed):
    text = open(path).read()
    m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", text)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    if not m or not req:
        return f"0,0,0,0,nan,nan,nan,1,h2load-failed,{server_cpu},{client_cpu},{elapsed}"
    rate = float(m.group(1))
    done, failed, errored, timeout = int(req.group(3)), int(req.group(5)), int(req.group(6)), int(req.group(7))
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    non2xx = sum(int(codes.group(i)) for i in (2, 3, 4)) if codes else 0
    data = re.search(r"traffic: .*?, .*? headers .*?, [\d.]+\w* \((\d+)\) data", text)
    replies = int(data.group(1)) // reply_bytes if data else 0
    no_reply = max(0, done - replies)
    times = []
    with open(log_path) as log:
        for line in log:
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] != "-1":
                times.append(int(parts[2]) / 1000)   # microseconds -> ms
    times.sort()
    detail = ";".join(f"{k}:{v}" for k, v in (("no-reply", no_reply), ("failed", failed + errored + timeout), ("non-2xx", non2xx)) if v) or "-"
    errors = no_reply + failed + errored + timeout + non2xx
    return (f"{done},{done},{rate:.1f},{rate:.1f},{percentile(times, 0.5):.3f},{percentile(times, 0.95):.3f},"
            f"{percentile(times, 0.99):.3f},{errors},{detail},{server_cpu},{client_cpu},{elapsed}")


def parse_grpcload(path):
    text = open(path).read()
    line = next((l for l in text.splitlines() if l.startswith("calls=")), None)
    if line is None:
        return "0,0,0,0,nan,nan,nan,1,grpcload-failed,0,0,0"
    f = dict(kv.split("=", 1) for kv in line.split())
    statuses = [s for s in f["statuses"].split(",") if s and not s.startswith("OK:")]
    detail = ";".join(statuses) or "-"
    return (f"{f['calls']},{f['messages']},{f['calls_per_s']},{f['messages_per_s']},{f['p50_ms']},{f['p95_ms']},{f['p99_ms']},"
            f"{f['errors']},{detail},{f['server_cpu_s']},{f['client_cpu_s']},{f['seconds']}")


def fmt_rate(v):
    return f"{v / 1000:,.1f}k" if v >= 1000 else f"{v:,.0f}"


def fmt_ms(v):
    return "n/a" if v is None or math.isnan(v) else f"{v:.2f} ms"


# What each row counts (the unit of its rate) and the issue-12 target for it.
ROWS = {
    "unary-h2c": ("calls", "unary calls/s, h2load over h2c"),
    "unary-tls": ("calls", "unary calls/s, h2load over TLS"),
    "unary-net": ("calls", "unary calls/s, Grpc.Net.Client over h2c"),
    "stream": ("messages", "server-streaming messages/s (100 per call), GrpcLoad's raw HTTP/2 client over h2c"),
    "bidi": ("messages", "bidi ping-pong round trips/s, GrpcLoad's raw HTTP/2 client over h2c"),
}
TARGET_RATIO = 1.5


def report(csv_path, alloc_path, md_path, client_threshold):
    rows = list(csv.DictReader(open(csv_path)))
    groups, order = {}, []
    for r in rows:
        groups.setdefault((r["row"], r["target"]), []).append(r)
        if r["row"] not in order:
            order.append(r["row"])

    summary = {}
    for (row, target), trials in groups.items():
        unit = ROWS.get(row, ("calls", row))[0]
        rate_key = "calls_per_s" if unit == "calls" else "messages_per_s"
        count_key = "calls" if unit == "calls" else "messages"
        rates = [float(t[rate_key]) for t in trials]

        def med(key):
            vals = [float(t[key]) for t in trials if t[key] not in ("", "nan") and not math.isnan(float(t[key]))]
            return statistics.median(vals) if vals else float("nan")

        per_cpu = [float(t[count_key]) / float(t["server_cpu_s"]) for t in trials if float(t["server_cpu_s"]) > 0]
        server_pct = [100 * float(t["server_cpu_s"]) / float(t["elapsed_s"]) for t in trials if float(t["elapsed_s"]) > 0]
        client_pct = [100 * float(t["client_cpu_s"]) / float(t["elapsed_s"]) for t in trials if float(t["elapsed_s"]) > 0]
        client_us = [1e6 * float(t["client_cpu_s"]) / float(t[count_key]) for t in trials if float(t[count_key]) > 0]
        s = {
            "row": row, "target": target, "server": trials[0]["server"], "unit": unit, "n": len(trials),
            "median": statistics.median(rates), "min": min(rates), "max": max(rates),
            "p50": med("p50_ms"), "p95": med("p95_ms"), "p99": med("p99_ms"),
            "errors": sum(int(t["errors"]) for t in trials),
            "detail": "; ".join(sorted({t["error_detail"] for t in trials if t["error_detail"] != "-"})),
            "per_cpu": statistics.median(per_cpu) if per_cpu else float("nan"),
            "server_cpu": statistics.median(server_pct) if server_pct else float("nan"),
            "client_cpu": statistics.median(client_pct) if client_pct else float("nan"),
            "client_us": statistics.median(client_us) if client_us else float("nan"),
        }
        flags = []
        if s["client_cpu"] >= client_threshold:
            flags.append("CLIENT-BOUND")
        if s["errors"]:
            flags.append("ERRORS (" + s["detail"] + ")")
        s["flags"] = ", ".join(flags)
        summary[(row, target)] = s

    out = []
    meta = rows[0] if rows else {}
    out.append(f"Run {meta.get('run_id', '?')}: {len(rows)} trials of {meta.get('duration_s', '?')} s, interleaved per row; "
               f"CLIENT-BOUND = the load generator used >= {client_threshold:.0f}% of its core.")
    out.append("")
    out.append("| row | target | median rate | min–max | p50 | p95 | p99 | errors | server CPU | per server CPU-s | client CPU | client CPU per call/msg | flag |")
    out.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in order:
        for (r, target), s in summary.items():
            if r != row:
                continue
            unit = "calls/s" if s["unit"] == "calls" else "msg/s"
            out.append(f"| {row} | {target} | {fmt_rate(s['median'])} {unit} | {fmt_rate(s['min'])}–{fmt_rate(s['max'])} | "
                       f"{fmt_ms(s['p50'])} | {fmt_ms(s['p95'])} | {fmt_ms(s['p99'])} | {s['errors']} | {s['server_cpu']:.0f}% | "
                       f"{fmt_rate(s['per_cpu'])} | {s['client_cpu']:.0f}% | {s['client_us']:.2f} µs | {s['flags']} |")

    out.append("")
    out.append("Rows: " + "; ".join(f"{k}: {v[1]}" for k, v in ROWS.items() if k in order) + ". "
               "Errors: h2load rows count a call without its reply message (DATA bytes / 19) and h2load's failures; "
               "the GrpcLoad rows count every call whose grpc-status was not OK, and the raw client's rows also a call "
               "with another reply count or other reply bytes than expected, without trailers, or ended by RST_STREAM, "
               "GOAWAY or a lost connection. Client CPU per call/msg: the load generator's CPU time per unit of the "
               "row's rate (a unary call, a streamed message, a round trip).")
    out.append("")
    out.append("Ratios of medians against Kestrel + Grpc.AspNetCore in the same run:")
    out.append("")
    out.append("| row | Hyperion target | rate ÷ Kestrel | per server CPU-s ÷ Kestrel | p99 vs Kestrel | target |")
    out.append("|---|---|---:|---:|---|---|")
    verdicts = []
    for row in order:
        k = next((s for (r, _), s in summary.items() if r == row and s["server"] == "kestrel"), None)
        for (r, target), s in summary.items():
            if r != row or s["server"] != "hyperion" or k is None:
                continue
            ratio = s["median"] / k["median"] if k["median"] > 0 else float("nan")
            eff = s["per_cpu"] / k["per_cpu"] if k["per_cpu"] > 0 else float("nan")
            p99_ok = not (s["p99"] > k["p99"])
            met = ratio >= TARGET_RATIO and p99_ok and s["errors"] == 0
            why = []
            if ratio < TARGET_RATIO:
                why.append(f"rate < {TARGET_RATIO}×")
            if not p99_ok:
                why.append("p99 worse")
            if s["errors"]:
                why.append("errors")
            verdict = "met" if met else "MISSED (" + ", ".join(why) + ")"
            if not met and "CLIENT-BOUND" in s["flags"]:
                verdict += ", CLIENT-BOUND: compare per server CPU-s"
            out.append(f"| {row} | {target} | {ratio:.2f}× | {eff:.2f}× | {s['p99']:.2f} vs {k['p99']:.2f} ms | {verdict} |")
            verdicts.append(met)
    out.append("")
    out.append(f"Issue 12 targets (rate >= {TARGET_RATIO}× Kestrel, p99 no worse, 0 errors): "
               f"{sum(verdicts)} of {len(verdicts)} Hyperion rows met.")

    allocs = list(csv.DictReader(open(alloc_path)))
    if allocs:
        per = {}
        for a in allocs:
            if int(a["calls"]) > 0:
                per.setdefault(a["target"], []).append(int(a["bytes"]) / int(a["calls"]))
        out.append("")
        out.append("Allocation per unary call (GC.GetTotalAllocatedBytes(true) in the server process, before and after "
                   f"{allocs[0]['calls']} h2load calls on 4 connections; connection setup included; median of {len(allocs) // max(1, len(per))}):")
        out.append("")
        out.append("| target | bytes per call (median) | min–max | ÷ Kestrel |")
        out.append("|---|---:|---|---:|")
        k = statistics.median(per["kestrel"]) if "kestrel" in per else None
        for target, vals in per.items():
            m = statistics.median(vals)
            out.append(f"| {target} | {m:,.0f} | {min(vals):,.0f}–{max(vals):,.0f} | {m / k:.2f}× |" if k else f"| {target} | {m:,.0f} | {min(vals):,.0f}–{max(vals):,.0f} | — |")

    text = "\n".join(out)
    print(text)
    with open(md_path, "w") as md:
        md.write(text + "\n")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "h2load":
        print(parse_h2load(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]))
    elif cmd == "grpcload":
        print(parse_grpcload(sys.argv[2]))
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        sys.exit(f"unknown command {cmd}")
