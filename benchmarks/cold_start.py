"""Cold start to an interactive dashboard from a warm cache, against a bare Textual app with
one Label started the same way; and the app's memory (RSS) after a session.

Each run is a fresh ``python -m benchmarks.app_runner`` process (headless, 120×40) that exits
on the first displayed frame showing the dashboard's figures (bare: its Label). The figure is
the wall time from spawn to exit, median of the runs (runs alternate, after one untimed
warm-up of each so both start from the same warm OS file cache).

Memory: one more run opens the Clients screen, filters, sorts, returns to the dashboard and
reports its peak RSS (VmHWM).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.common import ROOT, TODAY, Context, Result, median, run_child, summary

KEY = "cold_start"  # the JSON key of this measure's headline figure


def _spawn(app: str, ctx: Context) -> tuple[float, dict[str, float]]:
    args = [
        sys.executable,
        "-m",
        "benchmarks.app_runner",
        "--app",
        app,
        "--headless",
        "--until",
        "ready",
        "--today",
        TODAY.isoformat(),
    ]
    if app == "partner":
        args += ["--cache", str(ctx.warm_cache())]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTUAL_ANIMATIONS": "none"}
    # The warm-up runs are meant to leave warm .pyc files, as an installed app has them. With
    # PYTHONDONTWRITEBYTECODE set, none are written: the app would compile its own modules on
    # every start while the reference runs on Textual's pre-compiled ones. A private cache
    # (under the data folder, so the checkout stays clean) puts both on the same footing.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(ctx.data_dir / "pycache")
    started = time.perf_counter()
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False
    )
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"app_runner --app {app} failed:\n{done.stderr[-3000:]}")
    import json

    marks = json.loads([ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1])
    return wall, marks


def run(ctx: Context) -> list[Result]:
    runs = ctx.reps(7, 1)
    # Warm-ups, quick runs too: page cache and .pyc files (the private pycache starts empty,
    # and the first start compiles Textual: ~1 s, which would land on whichever runs first).
    _spawn("bare", ctx)
    _spawn("partner", ctx)
    walls: dict[str, list[float]] = {"bare": [], "partner": []}
    ready: dict[str, list[float]] = {"bare": [], "partner": []}
    for _ in range(runs):
        for app in ("bare", "partner"):
            wall, marks = _spawn(app, ctx)
            walls[app].append(wall)
            ready[app].append(marks["ready"])
    note = (
        f"median of {runs} fresh processes each, headless 120×40; in-process to first "
        f"frame with figures: app {median(ready['partner']):.0f} ms, "
        f"bare {median(ready['bare']):.0f} ms"
    )
    mem = run_child(
        "benchmarks.app_runner",
        [
            "--app",
            "partner",
            "--headless",
            "--until",
            "clients",
            "--cache",
            str(ctx.warm_cache()),
            "--today",
            TODAY.isoformat(),
        ],
    )
    return [
        Result(
            "cold_start",
            "cold start → dashboard figures (warm cache)",
            median(walls["partner"]),
            "ms",
            "ratio",
            1.5,
            median(walls["bare"]),
            "bare Textual app, one Label",
            note,
            {
                "app": summary(walls["partner"]),
                "bare": summary(walls["bare"]),
                "app_in_process_ready_ms": summary(ready["partner"]),
                "bare_in_process_ready_ms": summary(ready["bare"]),
            },
        ),
        Result(
            "app_rss",
            "app peak RSS (dashboard → clients → filter → sort)",
            mem["rss_VmHWM"],
            "MB",
            "max",
            250.0,
            note=f"VmHWM of the app process; VmRSS at the end {mem['rss_VmRSS']:.0f} MB",
            extra=mem,
        ),
    ]
