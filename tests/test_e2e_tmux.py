"""End to end in a real terminal: `partner-tui demo` in tmux, figures read off the screen.

The expected figures are computed independently, straight from the demo API's SQLite file with
plain SQL over the imported a-meldinger and clients (not through the app, the cache or the
dashboard service).
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from partner_api.norwegian_calendar import last_complete_month
from tests.conftest import skip_or_fail

CLIENTS = 40
WIDTH, HEIGHT = 120, 40


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, pattern: str, timeout: float = 180.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        found = re.search(pattern, text)
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{text}")


def card_value(text: str, title: str) -> str:
    """The value line of the dashboard card titled ``title``: the line under the title, cut
    to the card's own columns (cards stand side by side)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        col = line.find(title)
        if col >= 0:
            right = line.find("│", col)
            return lines[i + 1][col:right].strip()
    raise AssertionError(f"no card {title!r} on screen:\n{text}")


def number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


@pytest.fixture
def demo_session(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("tmux") is None:
        skip_or_fail("tmux is not installed")
    session = f"ptui-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    command = (
        f"env PARTNER_TUI_HOME={home} TERM=xterm-256color "
        f"{sys.executable} -m partner_tui demo --clients {CLIENTS}; "
        "echo DEMO-EXITED-$?; sleep 600"
    )
    tmux("new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), command)
    try:
        yield session, home
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def expected_from_database(db: Path, month: str) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        payroll_clients = conn.execute(
            "SELECT count(*) FROM client WHERE status = 'active' AND payroll_enabled"
        ).fetchone()[0]
        # The latest a-melding per client for the month that no later message replaced.
        rows = conn.execute(
            "SELECT client_id, cash_salary_ore, active_employees FROM amelding "
            "WHERE period = ? AND status != 'erstattet' ORDER BY received_at, id",
            (month,),
        ).fetchall()
    finally:
        conn.close()
    latest = {client_id: (salary, employees) for client_id, salary, employees in rows}
    return {
        "payroll_clients": payroll_clients,
        "salary_kr": round(sum(s for s, _ in latest.values()) / 100),
        "employees": sum(e for _, e in latest.values()),
    }


def test_demo_dashboard_and_partner_list_in_tmux(demo_session) -> None:  # type: ignore[no-untyped-def]
    session, home = demo_session
    wait_for(session, r"Lønnsklienter", timeout=240)
    wait_for(session, r"tilkoblet")
    text = screen(session)
    month = last_complete_month(date.today())
    expected = expected_from_database(home / "data" / "demo-api.sqlite", month)

    assert number(card_value(text, "Lønnsklienter")) == expected["payroll_clients"]
    assert number(card_value(text, "Aktive ansatte")) == expected["employees"]
    salary = re.fullmatch(r"([\d\s]+),(\d\d)\s*kr", card_value(text, "Utbetalt lønn"))
    assert salary, text
    assert round(number(salary.group(1)) + int(salary.group(2)) / 100) == expected["salary_kr"]

    # The partner list: every client, and hostile names drawn literally.
    time.sleep(0.5)
    tmux("send-keys", "-t", session, "2")
    found = wait_for(session, r"(\d+) av (\d+) klienter")
    assert int(found.group(1)) == int(found.group(2)) == CLIENTS
    tmux("send-keys", "-t", session, "/")
    time.sleep(0.5)  # let the filter box take focus, as a person's next keystroke would
    tmux("send-keys", "-t", session, "-l", "Acme")
    wait_for(session, r"\b[12] av \d+ klienter")
    assert "Acme [/] AS" in screen(session)
    tmux("send-keys", "-t", session, "Escape")
    tmux("send-keys", "-t", session, "Escape")
    wait_for(session, rf"{CLIENTS} av {CLIENTS} klienter")

    tmux("send-keys", "-t", session, "q")
    wait_for(session, r"DEMO-EXITED-0", timeout=20)


def test_second_start_reuses_the_demo_and_opens_offline(demo_session) -> None:  # type: ignore[no-untyped-def]
    session, home = demo_session
    wait_for(session, r"Lønnsklienter", timeout=240)
    wait_for(session, r"tilkoblet")
    tmux("send-keys", "-t", session, "q")
    wait_for(session, r"DEMO-EXITED-0", timeout=20)
    built = (home / "data" / "demo-api.sqlite").stat().st_mtime_ns

    # Offline: the cache alone, with the last sync time on screen.
    offline = f"{session}-off"
    tmux(
        "new-session",
        "-d",
        "-s",
        offline,
        "-x",
        str(WIDTH),
        "-y",
        str(HEIGHT),
        f"env PARTNER_TUI_HOME={home} {sys.executable} -m partner_tui demo --offline; sleep 60",
    )
    try:
        wait_for(offline, r"frakoblet", timeout=60)
        wait_for(offline, r"Lønnsklienter")
        assert re.search(r"sist synkronisert \d\d\.\d\d\.\d{4}", screen(offline)), screen(offline)
        tmux("send-keys", "-t", offline, "q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", offline], capture_output=True)
    assert (home / "data" / "demo-api.sqlite").stat().st_mtime_ns == built
    assert os.stat(home / "cache" / "demo.sqlite").st_mode & 0o777 == 0o600
