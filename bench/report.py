#!/usr/bin/env python3
"""Turns the raw measurements of scripts/bench into one Markdown report.

usage: report.py DIR

DIR holds what scripts/bench wrote, all tab-separated, one line per run:
  meta.tsv     name, value                     (the context, in order)
  runs.tsv     key, label, conns, rep, rps, p50_ms, p99_ms, requests, errors,
               app_cpu_us, pg_cpu_us, rss_kb   (wrk and pgbench runs)
  imports.tsv  key, label, bytes, assignments, rep, ms, status, tasks, rss_kb, via
  notes.txt    one remark a line
  sqlstats.tsv calls, total_ms, mean_ms, rows, query   (optional)
Medians are reported with the min–max of the repetitions; ratios compare
medians at the same number of connections."""
import os
import statistics
import sys

CEILING_HTTP, CEILING_DB, PGBENCH = "ceiling_http", "ceiling_db", "pgbench"
PEER = "peer_"   # the key of the peer's run of scenario KEY is peer_KEY
BASELINE = "baseline_"   # and of the baseline's (duban before supervision), baseline_KEY


def read_tsv(path, width):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= width:
                    rows.append(cells)
    return rows


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def spread(values, fmt):
    """median (min–max) of the values that are numbers, or —."""
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    med = fmt(statistics.median(values))
    if len(values) == 1 or min(values) == max(values):
        return med
    return f"{med} ({fmt(min(values))}–{fmt(max(values))})"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def f_rate(v):
    return f"{v:,.0f}"


def f_ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def f_us(v):
    return f"{v:,.0f}"


def group_runs(rows):
    """{(key, conns): {label, runs: [...]}} in first-seen order."""
    groups = {}
    for key, label, conns, rep, rps, p50, p99, requests, errors, app, pg, rss in (r[:12] for r in rows):
        g = groups.setdefault((key, conns), {"label": label, "runs": []})
        g["runs"].append({"rps": num(rps), "p50": num(p50), "p99": num(p99), "requests": num(requests),
                          "errors": num(errors), "app": num(app), "pg": num(pg), "rss": num(rss)})
    return groups


def throughput_table(groups):
    out = ["| scenario | conns | req/s | p50 ms | p99 ms | errors | CPU µs/req duban + PostgreSQL "
           "| peak RSS MB | ÷ ceiling | ÷ peer |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (key, conns), g in groups.items():
        runs = g["runs"]
        rps = median([r["rps"] for r in runs])
        errors = sum(r["errors"] or 0 for r in runs)
        requests = sum(r["requests"] or 0 for r in runs)
        err = "0" if not errors else f"{errors:,.0f} ({100 * errors / max(requests, 1):.1f}%)"
        app, pg = median([r["app"] for r in runs]), median([r["pg"] for r in runs])
        cpu = "—" if app is None else f"{app:,.0f} + {pg:,.0f}" if pg is not None else f"{app:,.0f}"
        rss = median([r["rss"] for r in runs])
        rss = "—" if rss is None else f"{rss / 1024:.0f}"
        p50 = spread([r["p50"] for r in runs], f_ms)
        if key == PGBENCH:
            p50 = f"{p50} (avg)" if p50 != "—" else p50
        ratio = "—"
        if key == CEILING_DB:
            base = groups.get((CEILING_HTTP, conns))
            if base and rps:
                ratio = f"{rps / median([r['rps'] for r in base['runs']]):.2f}× HTTP"
        elif key not in (CEILING_HTTP, PGBENCH):
            base = groups.get((CEILING_DB, conns))
            if base and rps is not None and median([r["rps"] for r in base["runs"]]):
                ratio = f"{rps / median([r['rps'] for r in base['runs']]):.2f}×"
        peer, base = "—", groups.get((PEER + key, conns))
        if base and rps is not None and median([r["rps"] for r in base["runs"]]):
            peer = f"{rps / median([r['rps'] for r in base['runs']]):.2f}×"
        out.append(f"| {g['label']} | {conns} | {spread([r['rps'] for r in runs], f_rate)} | {p50} "
                   f"| {spread([r['p99'] for r in runs], f_ms)} | {err} | {cpu} | {rss} | {ratio} | {peer} |")
    return out


# The targets the benchmark is read against: (what, scenario, measure, bound).
# A measure is the median of the scenario's runs at each number of
# connections: "ceiling" and "peer" are ratios as in the table, "app" and
# "pg" CPU µs per request (at the fewest connections: with many, the
# PostgreSQL backends' CPU is not all of one scenario's), "loss" the share of
# req/s a scenario loses against another, "baseline" its ratio to the ceiling
# over the baseline's (the same ceiling: req/s over the baseline's).
TARGETS = [
    ("GET task ≥ 0.85× the HTTP + DB ceiling", "task", "ceiling", 0.85),
    ("GET task ≥ 1.6× the peer", "task", "peer", 1.6),
    ("GET task: duban CPU ≤ 50 µs", "task", "app", 50),
    ("GET task: PostgreSQL CPU ≤ 60 µs", "task", "pg", 60),
    ("unit list ≥ 0.25× the HTTP + DB ceiling", "unit", "ceiling", 0.25),
    ("unit list ≥ 4× the peer", "unit", "peer", 4),
    ("POST ≥ 2× the peer", "post", "peer", 2),
    ("GET task ÷ ceiling no lower than before supervision (issue 13)", "task", "baseline", 1.0),
    ("unit list ÷ ceiling no lower than before supervision (issue 13)", "unit", "baseline", 1.0),
    ("POST loses ≤ 10 % with the outbox on (against change triggers off)", "changes_post_on",
     "loss:changes_post_off", 0.10),
]


def median_rps(groups, key, conns):
    g = groups.get((key, conns))
    return median([r["rps"] for r in g["runs"]]) if g else None


def measured(groups, key, measure, conns):
    """The measure of scenario key at conns, or None when not measured."""
    rps = median_rps(groups, key, conns)
    if rps is None:
        return None
    if measure in ("ceiling", "peer", "baseline"):
        other = {"ceiling": CEILING_DB, "peer": PEER + key, "baseline": BASELINE + key}[measure]
        base = median_rps(groups, other, conns)
        return rps / base if base else None
    if measure.startswith("loss:"):
        base = median_rps(groups, measure[5:], conns)
        return 1 - rps / base if base else None
    return median([r[measure] for r in groups[(key, conns)]["runs"]])


def targets_table(groups):
    """Each target at each number of connections measured: met or not."""
    out = ["| target | conns | measured | met |", "|---|---:|---:|---|"]
    all_conns = sorted({int(c) for _, c in groups}, key=int)
    for what, key, measure, bound in TARGETS:
        lowest = measure in ("app", "pg")
        rows = 0
        for conns in (all_conns[:1] if lowest else all_conns):
            value = measured(groups, key, measure, str(conns))
            if value is None:
                continue
            rows += 1
            if measure.startswith("loss:"):
                text, met = f"{100 * value:.0f} %", value <= bound
            elif measure in ("app", "pg"):
                text, met = f"{value:,.0f} µs", value <= bound
            else:
                text, met = f"{value:.2f}×", value >= bound
            out.append(f"| {what} | {conns} | {text} | {'met' if met else 'not met'} |")
        if not rows:
            out.append(f"| {what} | — | not measured in this run | — |")
    errors = sum(r["errors"] or 0 for (key, _), g in groups.items() if not key.startswith((PEER, BASELINE))
                 for r in g["runs"])
    out.append(f"| no answer other than 2xx/3xx from duban, any run | all | {errors:,.0f} | "
               f"{'met' if not errors else 'not met'} |")
    out.append("| 10k → 1M tasks: each scenario loses ≤ 20 %; peak RSS < 64 MiB at 64 connections on 1M "
               "| — | not measured by default (BENCH_ITEMS=10000 generates 1M tasks) | — |")
    return out


def import_table(rows):
    out = ["| import | document | time ms | status | tasks created | assignments/s | peak RSS MB | via |",
           "|---|---:|---:|---|---:|---:|---:|---|"]
    groups = {}
    for key, label, size, assignments, rep, ms, status, tasks, rss, via in (r[:10] for r in rows):
        g = groups.setdefault(key, {"label": label, "size": num(size), "assignments": num(assignments),
                                    "via": via, "runs": []})
        g["runs"].append({"ms": num(ms), "status": status, "tasks": num(tasks), "rss": num(rss)})
    for g in groups.values():
        runs = g["runs"]
        ok = [r for r in runs if r["status"].startswith("2") or r["status"] == "ok"]
        statuses = ", ".join(sorted({r["status"] for r in runs}))
        ms = median([r["ms"] for r in ok])
        rate = "—" if not ms or not g["assignments"] else f"{g['assignments'] / (ms / 1000):,.0f}"
        tasks = median([r["tasks"] for r in ok])
        rss = median([r["rss"] for r in runs])
        size = f"{g['size'] / 1024:,.0f} KB, {g['assignments']:,.0f} assignments" if g["size"] else "—"
        out.append(f"| {g['label']} | {size} | {spread([r['ms'] for r in ok], f_ms)} | {statuses} "
                   f"| {'—' if tasks is None else f'{tasks:,.0f}'} | {rate} "
                   f"| {'—' if rss is None else f'{rss / 1024:.0f}'} | {g['via']} |")
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    meta = read_tsv(os.path.join(d, "meta.tsv"), 2)
    out = ["# duban benchmark", ""]
    out += [f"- **{name}**: {value}" for name, value, *_ in meta]
    groups = group_runs(read_tsv(os.path.join(d, "runs.tsv"), 12))
    if groups:
        out += ["", "## Throughput and latency", "",
                "Median of the repetitions, min–max in brackets. `÷ ceiling`: duban's median req/s divided by "
                "the HTTP + database ceiling's at the same connections (for that ceiling: divided by the "
                "HTTP ceiling's). `÷ peer`: duban's median req/s divided by the Node peer's (bench/peer, rows "
                "labelled peer) at the same connections. CPU: process CPU time per completed request, duban (or "
                "the ceiling program, or the peer) and its PostgreSQL backends. Errors: non-2xx/3xx answers and socket errors, "
                "all repetitions. pgbench: transactions/s, average latency.", ""]
        out += throughput_table(groups)
        out += ["", "## Targets", "", "The targets duban is read against, from the table above (medians, same run).", ""]
        out += targets_table(groups)
    imports = read_tsv(os.path.join(d, "imports.tsv"), 10)
    if imports:
        out += ["", "## Plan imports", "", "One request per repetition, each a new document (a new 文号).", ""]
        out += import_table(imports)
    stats = read_tsv(os.path.join(d, "sqlstats.tsv"), 5)
    if stats:
        out += ["", "## Statements by total time (pg_stat_statements, duban scenarios and imports)", "",
                "| calls | total s | mean ms | rows/call | statement |", "|---:|---:|---:|---:|---|"]
        for calls, total, mean, rows, query in (s[:5] for s in stats):
            c = num(calls) or 1
            q = query.replace("|", "\\|")
            out.append(f"| {c:,.0f} | {num(total) / 1000:,.1f} | {num(mean):.3f} | {num(rows) / c:,.1f} | `{q}` |")
    notes_path = os.path.join(d, "notes.txt")
    if os.path.exists(notes_path):
        with open(notes_path, encoding="utf-8") as f:
            notes = [line.strip() for line in f if line.strip()]
        if notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    print("\n".join(out))


if __name__ == "__main__":
    main()
