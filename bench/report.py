"""The benchmark's results as medians, ratios and a markdown page."""

from __future__ import annotations

import statistics
from typing import Any

RATIO_KEYS = ("cpu_per_1k", "p50_ms", "p99_ms", "rss_per_session_kib")


def _get(run: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    value: Any = run
    for key in path:
        value = value[key]
    return value


def _median(runs: list[dict[str, Any]], path: tuple[str | int, ...]) -> float | None:
    values = [v for v in (_get(r, path) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def summarise(
    runs: list[dict[str, Any]], sessions: list[int], servers: list[str]
) -> list[dict[str, Any]]:
    """Per size and server: the median of each figure over its runs, and Accord's
    (and each Accord variant's) ratios to the baselines of the same size."""
    rows = []
    for count in sessions:
        for kind in servers:
            mine = [r for r in runs if r["server"] == kind and r["sessions"] == count]
            if not mine:
                continue
            step: tuple[str | int, ...] = ("steps", 0)
            rows.append(
                {
                    "server": kind,
                    "sessions": count,
                    "rate_per_session": mine[0]["steps"][0]["rate_per_session"],
                    "runs": len(mine),
                    "commands_per_s": _median(mine, (*step, "commands_per_s")),
                    "events_per_s": _median(mine, (*step, "events_per_s")),
                    "p50_ms": _median(mine, (*step, "latency_ms", "p50")),
                    "p95_ms": _median(mine, (*step, "latency_ms", "p95")),
                    "p99_ms": _median(mine, (*step, "latency_ms", "p99")),
                    "max_ms": _median(mine, (*step, "latency_ms", "max")),
                    "cpu_per_1k": _median(mine, (*step, "server_cpu_per_1k")),
                    "server_cpu_util": _median(mine, (*step, "server_cpu_util")),
                    "store_cpu_util": _median(mine, (*step, "store_cpu_util")),
                    "loadgen_cpu_util": _median(mine, (*step, "loadgen_cpu_util")),
                    "other_cpu_util": _median(mine, (*step, "other_cpu_util")),
                    "rss_per_session_kib": _median(mine, ("rss_per_session_kib",)),
                    "lost": sum(r["integrity"]["lost"] for r in mine),
                    "out_of_order": sum(r["integrity"]["out_of_order"] for r in mine),
                    "errors": sum(sum(r["integrity"]["errors"].values()) for r in mine),
                }
            )
    by_key = {(r["server"], r["sessions"]): r for r in rows}
    for row in rows:
        if not row["server"].startswith("accord"):
            continue
        for base in ("relay", "floor"):
            other = by_key.get((base, row["sessions"]))
            if other is not None:
                row[f"vs_{base}"] = {k: ratio(row[k], other[k]) for k in RATIO_KEYS}
    return rows


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def render_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    kind = "quick check" if report["quick"] else "full run"
    out = [
        f"Accord benchmark ({kind}, store: {report['mode']}), {report['when']}: {m['cores']} "
        f"cores ({m['cpu']}), Linux {m['kernel']}, Python {m['python']}.",
        "",
        "| server | sessions | cmd/s | events/s | p50 ms | p95 ms | p99 ms | max ms "
        "| CPU-s / 1k cmd | server CPU | loadgen CPU | others' CPU | RSS KiB / session "
        "| lost / ooo / err |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["summary"]:
        out.append(
            f"| {r['server']} | {r['sessions']:,} | {_fmt(r['commands_per_s'], 0)} "
            f"| {_fmt(r['events_per_s'], 0)} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} "
            f"| {_fmt(r['p99_ms'])} | {_fmt(r['max_ms'], 1)} | {_fmt(r['cpu_per_1k'], 3)} "
            f"| {_pct(r['server_cpu_util'])} | {_pct(r['loadgen_cpu_util'])} "
            f"| {_pct(r['other_cpu_util'])} | {_fmt(r['rss_per_session_kib'], 0)} "
            f"| {r['lost']} / {r['out_of_order']} / {r['errors']} |"
        )
    ratios = [r for r in report["summary"] if any(k in r for k in ("vs_relay", "vs_floor"))]
    if ratios:
        out += [
            "",
            "Accord as a multiple of each baseline (medians; lower is better):",
            "",
            "| server | sessions | vs | CPU / command | p50 | p99 | RSS / session |",
            "|---|---:|---|---:|---:|---:|---:|",
        ]
        for r in ratios:
            for base in ("relay", "floor"):
                v = r.get(f"vs_{base}")
                if v:
                    out.append(
                        f"| {r['server']} | {r['sessions']:,} | {base} "
                        f"| {_fmt(v['cpu_per_1k'])}× | {_fmt(v['p50_ms'])}× "
                        f"| {_fmt(v['p99_ms'])}× | {_fmt(v['rss_per_session_kib'])}× |"
                    )
    out += _sweep(report.get("sweep"))
    out += _micro(report.get("micro"))
    integrity = report["integrity"]
    out += [
        "",
        f"Integrity over every run: {integrity['lost']} lost, {integrity['out_of_order']} "
        f"out of order, {integrity['errors']} errors.",
        "",
    ]
    return "\n".join(out)


def _sweep(swept: dict[str, Any] | None) -> list[str]:
    if not swept:
        return []
    out = [
        "",
        f"Rate sweep, {swept['sessions']:,} sessions: the highest offered rate with p99 ≤ "
        f"{swept['p99_ms']:g} ms and ≥ 95% of what the sessions tried to send accepted "
        "(they pause for each time-out, so they try a little less than offered).",
        "",
        "| server | offered cmd/s | tried cmd/s | accepted cmd/s | p50 ms | p99 ms | server CPU "
        "| loadgen CPU | others' CPU | within |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, result in swept["servers"].items():
        for s in result["steps"]:
            out.append(
                f"| {kind} | {s['offered_per_s']:,.0f} | {s['attempted_per_s']:,.0f} "
                f"| {s['commands_per_s']:,.0f} "
                f"| {_fmt(s['latency_ms']['p50'])} | {_fmt(s['latency_ms']['p99'])} "
                f"| {_pct(s['server_cpu_util'])} | {_pct(s['loadgen_cpu_util'])} "
                f"| {_pct(s['other_cpu_util'])} | {'yes' if s['within_target'] else 'no'} |"
            )
    best, open_ended = [], set()
    for kind, result in swept["servers"].items():
        steps = result["steps"]
        # Still within at the sweep's top rate: the ceiling is higher than swept.
        if steps and steps[-1]["within_target"]:
            open_ended.add(kind)
        at_least = "≥ " if kind in open_ended else ""
        best.append(f"{kind} {at_least}{_fmt(result['best_rate'], 0)} cmd/s")
    versus = swept.get("accord_vs_relay")
    if versus:
        bound = "≥ " if "accord" in open_ended else "≤ " if "relay" in open_ended else ""
        versus = f" (Accord / relay {bound or '= '}{versus})."
    out += ["", f"Highest within: {', '.join(best)}{versus or '.'}"]
    return out


def _micro(micros: dict[str, Any] | None) -> list[str]:
    if not micros:
        return []
    c, f = micros["catch_up"], micros["fold"]
    return [
        "",
        f"Resume: a seat {c['missed']:,} events behind joins with `last_seq` and `epoch`; "
        f"join to ack, measured by the client on an otherwise idle server: median "
        f"{c['median_ms']} ms, max {c['max_ms']} ms ({c['delivered'][0]:,} events "
        f"delivered per join).",
        "",
        f"Fold: {f['events']:,} events decode and fold in {f['fold_ms']} ms; "
        f"`LiveSession.load` (read the log and fold) takes {f['load_ms']} ms; the first "
        f"connect and join of that session (load, snapshot, all {f['events']:,} events) "
        f"{f['cold_join_ms']} ms.",
    ]
