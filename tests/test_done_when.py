"""The first slice's acceptance path, through the real commands:

``partner-api demo --out DIR`` → ``partner-api serve`` → ``partner-tui sync --json`` syncs the
whole portfolio, and the dashboard's total salary for a month — from the API and from the
cache — equals the cash salary in that month's a-melding files in DIR, summed here straight from
the JSON. Then every figure, for many filters and months, is the same from the API and the cache.
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from partner_api.norwegian_calendar import month_add
from partner_api.wire import DashboardFilter
from partner_tui.core.api_client import ApiClient
from partner_tui.core.config import Paths
from partner_tui.core.queries import dashboard_figures

END = "2026-11"
CLIENTS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cash_salary_in_files(out: Path, month: str) -> int:
    """Σ kontantytelse loennsinntekt, in øre, over the month's files that no file replaced."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    total = Decimal(0)
    counted = 0
    for entry in manifest["files"]:
        if entry["period"] != month or entry["replacedBy"]:
            continue
        leveranse = json.loads((out / entry["file"]).read_text(encoding="utf-8"))["leveranse"]
        assert leveranse["kalendermaaned"] == month
        counted += 1
        for unit in leveranse["oppgave"]["virksomhet"]:
            for person in unit.get("inntektsmottaker", []):
                for income in person.get("inntekt", []):
                    if income["fordel"] == "kontantytelse" and "loennsinntekt" in income:
                        total += Decimal(str(income["beloep"]))
    assert counted > 0
    return int(total * 100)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("done")
    db, out, home = base / "api.sqlite", base / "amelding", base / "home"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PARTNER_TUI_HOME": str(home)}
    demo = subprocess.run(
        [
            bin_dir / "partner-api",
            "demo",
            "--db",
            str(db),
            "--clients",
            str(CLIENTS),
            "--end-month",
            END,
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    )
    creds = json.loads(demo.stdout)
    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "partner-api", "serve", "--db", str(db), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        assert time.monotonic() < deadline, "partner-api serve did not answer /health"
        time.sleep(0.2)
    try:
        yield {
            "url": url,
            "token": creds["token"],
            "out": out,
            "home": home,
            "env": env,
            "bin": bin_dir,
            "db": db,
        }
    finally:
        server.terminate()
        server.wait(timeout=20)


def tui_sync(
    served: dict[str, object], token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(served["env"])  # type: ignore[call-overload]
    env["PARTNER_TUI_TOKEN"] = token or str(served["token"])
    return subprocess.run(
        [Path(str(served["bin"])) / "partner-tui", "sync", "--api", str(served["url"]), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_sync_whole_portfolio_and_salary_equals_the_files(served) -> None:  # type: ignore[no-untyped-def]
    first = tui_sync(served)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["mode"] == "full"
    assert summary["counts"]["client"] == CLIENTS
    cache = Path(summary["cache"])
    assert cache.parent == Paths(Path(), Path(str(served["home"])) / "cache", Path()).cache_dir

    again = json.loads(tui_sync(served).stdout)
    assert again["mode"] == "incremental" and again["total"] == 0

    conn = sqlite3.connect(cache)
    with ApiClient(str(served["url"]), str(served["token"])) as api:
        for month in (END, month_add(END, -1), month_add(END, -13)):
            expected = cash_salary_in_files(Path(str(served["out"])), month)
            assert api.dashboard(month).salary_paid_ore == expected, month
            cached = conn.execute(
                "SELECT sum(salary_paid_ore) FROM client_month WHERE month = ?", (month,)
            ).fetchone()[0]
            assert cached == expected, month


def test_every_figure_is_the_same_from_api_and_cache(served) -> None:  # type: ignore[no-untyped-def]
    summary = json.loads(tui_sync(served).stdout)
    conn = sqlite3.connect(summary["cache"])
    today = date.today()
    users = [row[0] for row in conn.execute("SELECT id FROM user ORDER BY id LIMIT 6")]
    groups = [row[0] for row in conn.execute("SELECT id FROM client_group ORDER BY id")]
    filters = [DashboardFilter()]
    filters += [DashboardFilter(group_id=g) for g in groups]
    filters += [DashboardFilter(user_id=u) for u in users]
    filters += [DashboardFilter(user_id=u, role="ansvarlig") for u in users[:3]]
    filters += [
        DashboardFilter(user_id=u, role="medarbeider", group_id=groups[0]) for u in users[:3]
    ]
    filters += [DashboardFilter(role="ansvarlig"), DashboardFilter(role="medarbeider")]
    with ApiClient(str(served["url"]), str(served["token"])) as api:
        me = api.me().user.id
        nonzero = 0
        for month in (END, month_add(END, -1), month_add(END, -6)):
            for flt in filters:
                server = api.dashboard(month, group=flt.group_id, user=flt.user_id, role=flt.role)
                local = dashboard_figures(conn, month, flt, me, today)
                assert local == server, (month, flt)
                nonzero += server.payroll_clients > 0
        assert nonzero > len(filters)  # the filters select real clients, not empty sets


def test_sync_refuses_a_bad_token_and_an_unreachable_api(served) -> None:  # type: ignore[no-untyped-def]
    refused = tui_sync(served, token="pa_not-a-token")
    assert refused.returncode == 3
    assert "refused the token" in refused.stderr
    env = dict(served["env"])  # type: ignore[call-overload]
    env["PARTNER_TUI_TOKEN"] = "x"
    down = subprocess.run(
        [
            Path(str(served["bin"])) / "partner-tui",
            "sync",
            "--api",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert down.returncode == 2
    assert "cannot reach" in down.stderr
