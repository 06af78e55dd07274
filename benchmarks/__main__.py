"""``python -m benchmarks``: the DESIGN.md §8 budgets, measured against their references.

Generates the portfolio once into ``--data`` (reused when present), runs each measure, prints
one line per figure (value, reference, ratio, budget, verdict) and writes the results as JSON.
Benchmarks are not tests: an over-budget figure never makes the exit status non-zero (only a
measure that crashes does, with ``--strict``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Context, NotAvailable, Result, fmt
from benchmarks.portfolio import END_MONTH, SEED, ensure_portfolio

# name → module (each has ``run(ctx) -> list[Result]``), in run order: full_sync first,
# because the cache it syncs becomes the warm cache the app measures open.
MEASURES = {
    "full_sync": "benchmarks.full_sync",
    "incremental_sync": "benchmarks.incremental_sync",
    "keystroke": "benchmarks.keystroke",
    "cold_start": "benchmarks.cold_start",
    "idle_bytes": "benchmarks.idle_bytes",
    "bulk_grant": "benchmarks.bulk_grant",
    "dashboard": "benchmarks.dashboard_latency",
}


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    versions = {}
    for mod in ("textual", "sqlalchemy", "fastapi", "httpx", "pydantic"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:
            versions[mod] = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_at_start": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
    }


def table(results: list[Result]) -> list[str]:
    head = ("measure", "value", "reference", "ratio", "budget", "result")
    rows = [head]
    for r in results:
        ref = fmt(r.reference, r.unit) if r.reference is not None else ""
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else ""
        rows.append((r.label, fmt(r.value, r.unit), ref, ratio, r.budget, r.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    right = {1, 2, 3}
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("bench-data"),
        help="portfolio, caches and scratch files (default ./bench-data)",
    )
    parser.add_argument("--json", type=Path, help="results file (default DATA/results-*.json)")
    parser.add_argument("--only", help="comma-separated: " + ",".join(MEASURES))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PARTNER_API_TEST_DATABASE_URL"),
        help="PostgreSQL server for the dashboard measure (default "
        "$PARTNER_API_TEST_DATABASE_URL or postgres@127.0.0.1:5432)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke runs)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a measure crashes (never for an over-budget figure)",
    )
    args = parser.parse_args(argv)

    names = list(MEASURES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in MEASURES]
        if unknown:
            parser.error(f"unknown measure(s): {', '.join(unknown)}; known: {', '.join(MEASURES)}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    machine = _machine()
    portfolio = ensure_portfolio(args.data, args.clients, log=log)
    counts = portfolio.counts()
    log(f"portfolio {portfolio.path} ({', '.join(f'{k} {v:,}' for k, v in counts.items())})")
    ctx = Context(
        args.data,
        portfolio,
        quick=args.quick,
        skip_postgres=args.skip_postgres,
        pg_url=args.pg_url,
        log=log,
    )

    results: list[Result] = []
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    loads: dict[str, float] = {}
    for name in names:
        log(f"— {name} …")
        loads[name] = os.getloadavg()[0]
        t0 = time.perf_counter()
        module = importlib.import_module(MEASURES[name])
        key, label = getattr(module, "KEY", name), name.replace("_", " ")
        try:
            got = module.run(ctx)
        except NotAvailable as exc:
            got = [Result(key, label, None, "", note=f"not available: {exc}")]
        except Exception as exc:
            errors[name] = traceback.format_exc()
            log(errors[name])
            got = [Result(key, label, None, "", note=f"error: {type(exc).__name__}: {exc}")]
        timings[name] = time.perf_counter() - t0
        for r in got:
            log(
                f"   {r.label}: {fmt(r.value, r.unit)}"
                + (f" vs {fmt(r.reference, r.unit)} ({r.ratio:.2f}×)" if r.ratio else "")
                + f"  [{r.verdict}]"
                + (f"  {r.note}" if r.note else "")
            )
        results.extend(got)

    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "clients": args.clients,
        "seed": SEED,
        "end_month": END_MONTH,
        "portfolio": str(portfolio.path),
        "portfolio_counts": counts,
        "portfolio_build_s": portfolio.build_seconds,
        "quick": args.quick,
        "machine": machine,
        "measure_seconds": timings,
        "loadavg_1min_at_measure_start": loads,
        "loadavg_at_end": os.getloadavg(),
        "total_seconds": time.perf_counter() - started,
    }
    out = args.json or args.data / f"results-c{args.clients}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.data / "work", ignore_errors=True)  # throw-away copies (~GB at 10k)
    out.write_text(
        json.dumps(
            {"meta": meta, "results": {r.key: r.to_json() for r in results}, "errors": errors},
            indent=2,
            ensure_ascii=False,
        )
    )

    m = meta["machine"]
    print(
        f"partner-tui benchmarks — {args.clients:,} clients "
        f"({counts['app_user']:,} users, {counts['access_grant']:,} grants, "
        f"{counts['employee']:,} employees, {counts['months']} months); "
        f"{m['cores']} cores ({m['cpu']}), load {m['loadavg_at_start'][0]:.2f} at start"
        + (", --quick" if args.quick else "")
    )
    for line in table(results):
        print(line)
    notes = [(r.label.strip(), r.note) for r in results if r.note]
    if notes:
        print()
        for label, note in notes:
            print(f"  {label}: {note}")
    over = [r for r in results if r.ok is False]
    print(
        f"\n{sum(r.ok is True for r in results)} within budget, {len(over)} over, "
        f"{sum(r.value is None for r in results)} not available"
        + (f", {len(errors)} crashed" if errors else "")
        + f"; {meta['total_seconds']:.0f} s. JSON: {out}"
    )
    return 1 if (args.strict and errors) else 0


if __name__ == "__main__":
    sys.exit(main())
