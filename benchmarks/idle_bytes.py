"""Bytes an idle dashboard sends to the terminal over 5 seconds.

The app (``PartnerApp`` offline on the warm cache, as ``partner-tui --offline`` runs it) is
started by ``benchmarks.app_runner`` in a pseudo-terminal of 120×40 (TERM=xterm-256color,
COLORTERM=truecolor). Everything the app writes is read from the pty master; once the runner
says the dashboard shows its figures, one more second is allowed to settle, then the bytes of
the next 5 seconds are counted. The first paint's size is reported too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from benchmarks.common import ROOT, TODAY, Context, Result

COLS, ROWS = 120, 40
SETTLE_S = 1.0
WINDOW_S = 5.0

KEY = "idle_bytes"  # the JSON key of this measure's headline figure


def _drain(fd: int, until: float) -> int:
    n = 0
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return n
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return n
            if not chunk:
                return n
            n += len(chunk)


def measure(cache: Path, window_s: float = WINDOW_S) -> dict[str, float]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    ready_file = cache.parent / f"idle-ready-{os.getpid()}.json"
    ready_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "TEXTUAL_ANIMATIONS": "none",
        "COLUMNS": str(COLS),
        "LINES": str(ROWS),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.app_runner",
            "--app",
            "partner",
            "--cache",
            str(cache),
            "--until",
            "never",
            "--ready-file",
            str(ready_file),
            "--today",
            TODAY.isoformat(),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    try:
        first_paint = 0
        deadline = time.monotonic() + 120
        while not ready_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app never showed the dashboard in the pty")
            first_paint += _drain(master, time.monotonic() + 0.05)
        first_paint += _drain(master, time.monotonic() + SETTLE_S)
        started = time.monotonic()
        idle = _drain(master, started + window_s)
        return {"idle_bytes": idle, "window_s": window_s, "first_paint_bytes": first_paint}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
        ready_file.unlink(missing_ok=True)


def run(ctx: Context) -> list[Result]:
    window = float(ctx.reps(WINDOW_S, 2.0))
    out = measure(ctx.warm_cache(), window)
    return [
        Result(
            "idle_bytes",
            f"idle dashboard → terminal bytes in {window:g} s",
            out["idle_bytes"],
            "B",
            "max",
            0.0,
            note=f"pty 120×40 truecolor, after {SETTLE_S:g} s settle; first paint "
            f"{out['first_paint_bytes']:,.0f} B",
            extra=out,
        )
    ]
