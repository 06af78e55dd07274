"""End to end in a real terminal: the access "done when" of the bulk-edit issue, in tmux.

With the demo: an accountant is given 150 clients with a template in one bulk change,
previewed and confirmed; then offboarded with a handover of their ansvarlig clients; the undo
of that brings every row back; the same edits made offline are applied after reconnect.

Everything is done with keys in ``partner-tui demo`` running in tmux, and every expected state
is worked out independently, straight from the demo API's SQLite file with plain SQL (never
through the app, its cache or the API's services). The demo is built once and copied before
any edit, so the online run and the offline run start from the same data and must end in the
same state.
"""

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.tmux

CLIENTS = 170  # a demo this size has ~164 active clients: room for 150 new grants
BULK = 150
TEMPLATE = "Lønnsmedarbeider"  # the payroll template: level "payroll", automatic role
WIDTH, HEIGHT = 130, 40

Grant = tuple[int, int, str, str, str, str | None]  # user, client, level, role, source, until


# ---- the terminal ----------------------------------------------------------------------------


def norwegian_order(name: str) -> str:
    """How the app lists names: case-insensitive, with æ, ø, å (in that order) after z."""
    return name.casefold().translate({ord("æ"): "{", ord("ø"): "|", ord("å"): "}"})


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


class Term:
    """One ``partner-tui demo`` process in its own tmux session."""

    def __init__(self, home: Path, *args: str) -> None:
        self.session = f"ptui-acc-{uuid.uuid4().hex[:8]}"
        # Without -u, the app may size itself by COLUMNS / LINES that a library loaded in the
        # test process set at the C level (80×24), which tmux then passes on.
        command = (
            "env -u COLUMNS -u LINES "
            f"PARTNER_TUI_HOME={shlex.quote(str(home))} TERM=xterm-256color "
            f"{shlex.quote(sys.executable)} -m partner_tui demo {' '.join(args)}; "
            "echo DEMO-EXITED-$?; sleep 600"
        )
        tmux("new-session", "-d", "-s", self.session, "-x", str(WIDTH), "-y", str(HEIGHT), command)

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        tmux("send-keys", "-t", self.session, "-l", text)

    def wait(self, pattern: str, timeout: float = 60.0) -> str:
        """The screen once ``pattern`` is on it (a regular expression)."""
        return self.wait_until(lambda text: re.search(pattern, text) is not None, pattern, timeout)

    def wait_until(self, ok: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if ok(text):
                return text
            time.sleep(0.25)
        size = tmux("display", "-p", "-t", self.session, "#{pane_width}x#{pane_height}").strip()
        raise AssertionError(f"{what!r} never appeared; the screen ({size}) was:\n{text}")

    def quit(self) -> None:
        self.keys("q")
        self.wait(r"DEMO-EXITED-0", timeout=30)
        self.close()

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def options(text: str) -> list[str]:
    """The option labels of the open picker (an OptionList in a modal box), top to bottom."""
    return re.findall(r"│\s+▊ (.+?)\s*▎\s+│", text)


def status_line(text: str) -> str:
    lines = [line for line in text.splitlines() if "tilkoblet" in line or "frakoblet" in line]
    assert lines, f"no status line on screen:\n{text}"
    return lines[-1]


def totals(text: str, anchor: str) -> dict[str, int]:
    """The numbers of the totals line that starts with ``anchor`` ("gi" or "opprettet")."""
    found = re.search(rf"^\s*({anchor} \d+(?:, [a-zæøå]+ \d+)*)", text, re.M)
    assert found, f"no totals line starting {anchor!r}:\n{text}"
    return {k: int(v) for k, v in re.findall(r"([a-zæøå]+) (\d+)", found.group(1))}


# ---- the database, read with plain SQL -------------------------------------------------------


def query(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def grants(db: Path) -> list[Grant]:
    return sorted(
        query(
            db,
            "SELECT user_id, client_id, access_level, role, role_source, valid_until "
            "FROM access_grant",
        )
    )


def grants_on(rows: list[Grant], clients: set[int]) -> list[Grant]:
    return [g for g in rows if g[1] in clients]


@dataclass
class Scenario:
    accountant: int
    name: str
    start_count: int  # the accountant's grants before the bulk change
    chosen: list[int]  # the 150 clients, in the order the Access screen lists them
    keys: list[str]  # space on a chosen row, j past the others (space moves down too)
    handed: list[int]  # ansvarlig clients, in the handover screen's order
    heir: int  # takes over all of them but the last ...
    heir_name: str
    last_heir: int  # ... which goes to this one (a per-client choice)
    last_heir_name: str
    level: str  # the template's level


def scenario(db: Path) -> Scenario:
    """An accountant who is ansvarlig somewhere and lacks access to at least 150 clients; the
    150 are clients where the automatic role rule would keep them medarbeider (they did not
    run the latest payroll run), so the handover is the same before and after the grant."""
    runner = dict(
        query(
            db,
            "SELECT client_id, run_by_user_id FROM (SELECT client_id, run_by_user_id, "
            "row_number() OVER (PARTITION BY client_id ORDER BY period DESC, pay_date DESC, "
            "id DESC) AS n FROM payroll_run) WHERE n = 1",
        )
    )
    listing = [
        c
        for _name, c in sorted(
            (norwegian_order(name), c)
            for c, name in query(db, "SELECT id, name FROM client WHERE status = 'active'")
        )
    ]
    # Prefer an accountant who also has access to an archived client: the offboarding ends
    # that grant too, and the undo must bring it back (a restore, not a new grant).
    users = query(
        db,
        "SELECT u.id, u.name, (SELECT count(*) FROM access_grant g JOIN client c "
        "ON c.id = g.client_id WHERE g.user_id = u.id AND g.role = 'ansvarlig' "
        "AND c.status = 'active') AS n, EXISTS (SELECT 1 FROM access_grant g JOIN client c "
        "ON c.id = g.client_id WHERE g.user_id = u.id AND c.status = 'archived') AS archived "
        "FROM app_user u WHERE u.active AND NOT u.is_partneradmin "
        "ORDER BY archived DESC, n DESC, u.id",
    )
    found = None
    for user, name, ansvarlig, archived in users:
        if ansvarlig < 2 or not archived:
            continue
        has = {
            c for (c,) in query(db, "SELECT client_id FROM access_grant WHERE user_id = ?", (user,))
        }
        candidates = {c for c in listing if c not in has and runner.get(c) != user}
        if len(candidates) >= BULK:
            found = (user, name, has, candidates)
            break
    assert found, "the demo has no accountant ansvarlig on 2+ clients who lacks 150 clients"
    user, name, has, candidates = found

    chosen: list[int] = []
    keys: list[str] = []
    for client in listing:
        if len(chosen) == BULK:
            break
        if client in candidates:
            chosen.append(client)
            keys.append("Space")
        else:
            keys.append("j")
    handed = [
        c
        for _name, c in sorted(
            (norwegian_order(name), c)
            for c, name in query(
                db,
                "SELECT c.id, c.name FROM access_grant g JOIN client c ON c.id = g.client_id "
                "WHERE g.user_id = ? AND g.role = 'ansvarlig' AND c.status != 'archived'",
                (user,),
            )
        )
    ]
    # The heir: the colleague who already works on most of these clients (so the handover
    # both changes existing grants and creates new ones); another one takes the last client.
    others = query(
        db,
        "SELECT u.id, u.name, (SELECT count(*) FROM access_grant g WHERE g.user_id = u.id "
        f"AND g.client_id IN ({','.join('?' * len(handed))})) AS n FROM app_user u "
        "WHERE u.active AND NOT u.is_partneradmin AND u.id != ? ORDER BY n DESC, u.id",
        (*handed, user),
    )
    (heir, heir_name, _), (last_heir, last_heir_name, _) = others[0], others[1]
    (level,) = query(db, "SELECT access_level FROM access_template WHERE name = ?", (TEMPLATE,))[0]
    return Scenario(
        accountant=user,
        name=name,
        start_count=len(has),
        chosen=chosen,
        keys=keys,
        handed=handed,
        heir=heir,
        heir_name=heir_name,
        last_heir=last_heir,
        last_heir_name=last_heir_name,
        level=level,
    )


def after_offboard(before: list[Grant], s: Scenario) -> tuple[list[Grant], dict[str, int]]:
    """What the offboarding must leave (worked out here, not by the server) and its preview
    totals: every grant of the accountant ends; each handed-over client's heir becomes
    ansvarlig (set by hand) with at least the accountant's level there (a higher level of
    their own is kept; a new grant takes the accountant's level)."""
    rank = {"read": 0, "payroll": 1, "full": 2}
    heirs = {c: s.heir for c in s.handed[:-1]} | {s.handed[-1]: s.last_heir}
    level = {g[1]: g[2] for g in before if g[0] == s.accountant}
    rows = {(g[0], g[1]): g for g in before if g[0] != s.accountant}
    counts = {"gi": 0, "endre": 0, "uendret": 0, "fjern": len(level)}
    for client, heir in heirs.items():
        had = rows.get((heir, client))
        if had is None:
            rows[(heir, client)] = (heir, client, level[client], "ansvarlig", "manual", None)
            counts["gi"] += 1
            continue
        wanted = max(had[2], level[client], key=rank.__getitem__)
        after = (heir, client, wanted, "ansvarlig", "manual", had[5])
        counts["uendret" if after == had else "endre"] += 1
        rows[(heir, client)] = after
    return sorted(rows.values()), counts


# ---- the keys --------------------------------------------------------------------------------


def pick_user(term: Term, name: str) -> None:
    """In an open user picker: type the name, wait for it to be the one option left, enter."""
    term.type(name)
    term.wait_until(lambda text: options(text) == [name], f"only {name} in the picker")
    term.keys("Enter")


def open_accountant(term: Term, s: Scenario) -> None:
    term.keys("3")
    term.wait(r"Bruker: \S")  # the Access screen has loaded
    for _attempt in range(10):  # the user list loads in the background: until it is in
        term.keys("f")
        text = term.wait(r"Velg bruker")
        if options(text):
            break
        term.keys("Escape")
        time.sleep(1)
    pick_user(term, s.name)
    term.wait(rf"Bruker: {re.escape(s.name)}  ·  ")


def preview_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if " → " in line]


def grant_with_template(term: Term, s: Scenario, *, online: bool) -> None:
    """Select the 150 clients, preview the template grant (checked), confirm it."""
    term.keys("g")
    term.keys(*s.keys)
    text = term.wait(rf"(?m)·\s+{BULK} valgt\s*$", timeout=60)
    assert "skjult" not in status_line(text)
    term.keys("n")
    text = term.wait(r"Velg tilgangsnivå eller mal")
    labels = options(text)
    assert labels[:3] == ["les", "lønn", "full"], labels
    assert f"mal: {TEMPLATE}" in labels, labels
    term.keys(*["Down"] * labels.index(f"mal: {TEMPLATE}"), "Enter")
    text = term.wait(r"Forhåndsvisning: Gi tilgang", timeout=90)
    assert f"Gi tilgang ({BULK}) – {s.name}" in text
    where = "(fra serveren)" if online else "(fra cachen, frakoblet)"
    assert re.search(rf"gi {BULK}, endre 0, uendret 0, fjern 0  {re.escape(where)}", text), text
    rows = preview_rows(text)
    assert len(rows) >= 20, text  # a screenful of rows, each a new grant at the template's level
    after = "lønn · medarbeider" if online else "lønn · auto"  # offline the server decides
    assert all(row.startswith(s.name[:8]) for row in rows), text
    assert all(re.search(rf"–\s+→ {after}\s+gi\b", row) for row in rows), text
    term.keys("Enter")
    term.wait(rf"Utfør «.*»\?[\s│]*gi {BULK}, endre 0, uendret 0, fjern 0")
    term.keys("y")


def handover_rows(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if re.match(r"\s+\d{9} ", line)]


def hand_over(term: Term, s: Scenario) -> str:
    """Offboard: the handover screen, everyone to the heir, the last client to another
    colleague, then the preview; returns the preview's screen."""
    term.keys("O")
    text = term.wait(r"Avslutt .*: ansvarlig på \d+ klienter")
    assert f"Avslutt {s.name}: ansvarlig på {len(s.handed)} klienter – velg ny ansvarlig" in text
    missing = f"{len(s.handed)} klienter mangler ny ansvarlig"
    assert missing in text
    assert len(handover_rows(text)) == len(s.handed), text
    assert all(row.endswith("–") for row in handover_rows(text)), text
    term.keys("p")  # refused while a client has nobody: a warning says why
    term.wait_until(lambda text: text.count(missing) >= 2, "the warning")
    term.keys("A")
    term.wait(rf"Ny ansvarlig for {len(s.handed)} klienter")
    pick_user(term, s.heir_name)
    term.wait(r"Alle klienter har ny ansvarlig")
    term.keys("G", "h")  # the last client: someone else
    term.wait(r"Ny ansvarlig for \d{9} ")  # one client: the picker names it
    pick_user(term, s.last_heir_name)
    text = term.wait_until(
        lambda text: (
            handover_rows(text)[-1:] != [] and handover_rows(text)[-1].endswith(s.last_heir_name)
        ),
        f"{s.last_heir_name} on the last row",
    )
    rows = handover_rows(text)
    assert len(rows) == len(s.handed), text
    assert all(row.endswith(s.heir_name) for row in rows[:-1]), text
    assert "Alle klienter har ny ansvarlig" in text
    term.keys("p")
    return term.wait(r"Forhåndsvisning: Avslutt bruker", timeout=90)


# ---- the test --------------------------------------------------------------------------------


@pytest.fixture
def demo_homes(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The demo built once (and synced), then copied: (online home, offline home)."""
    if shutil.which("tmux") is None:
        skip_or_fail("tmux is not installed")
    online, offline = tmp_path / "online", tmp_path / "offline"
    term = Term(online, "--clients", str(CLIENTS))
    try:
        term.wait(r"Lønnsklienter", timeout=240)
        term.wait(r"● tilkoblet")
        term.quit()
    finally:
        term.close()
    shutil.copytree(online, offline)
    yield online, offline


def test_bulk_grant_offboard_undo_and_offline_replay_in_tmux(demo_homes: tuple[Path, Path]) -> None:
    online_home, offline_home = demo_homes
    db = online_home / "data" / "demo-api.sqlite"
    start = grants(db)
    s = scenario(db)

    # ---- online: grant 150 clients with the template ------------------------------------
    term = Term(online_home)
    try:
        term.wait(r"● tilkoblet", timeout=90)
        open_accountant(term, s)
        grant_with_template(term, s, online=True)
        text = term.wait(r"Resultat: Gi tilgang", timeout=90)
        assert totals(text, "opprettet") == {
            "opprettet": BULK,
            "endret": 0,
            "uendret": 0,
            "fjernet": 0,
            "feilet": 0,
        }, text
        granted = grants(db)
        new = sorted(set(granted) - set(start))
        assert sorted(set(start) - set(granted)) == []  # nothing else changed
        assert new == sorted(
            (s.accountant, c, s.level, "medarbeider", "auto", None) for c in s.chosen
        )
        term.keys("Escape")
        term.wait(rf"Bruker: {re.escape(s.name)}  ·  ")

        # ---- offboard with a handover ---------------------------------------------------
        expected, counts = after_offboard(granted, s)
        assert counts["fjern"] == s.start_count + BULK
        text = hand_over(term, s)
        assert totals(text, "gi") == counts, text
        assert "(fra serveren)" in text
        term.keys("Enter")
        term.wait(r"Utfør «.*»\?[\s│]*gi")
        term.keys("y")
        text = term.wait(r"Resultat: Avslutt bruker", timeout=90)
        assert totals(text, "opprettet") == {
            "opprettet": counts["gi"],
            "endret": counts["endre"],
            "uendret": counts["uendret"],
            "fjernet": counts["fjern"],
            "feilet": 0,
        }, text
        offboarded = grants(db)
        assert [g for g in offboarded if g[0] == s.accountant] == []
        ansvarlig = {(u, c) for u, c, _lv, role, _src, _until in offboarded if role == "ansvarlig"}
        was = {(u, c) for u, c, _lv, role, _src, _until in granted if role == "ansvarlig"}
        assert {c for u, c in ansvarlig if u == s.heir} == {c for u, c in was if u == s.heir} | set(
            s.handed[:-1]
        )
        assert {c for u, c in ansvarlig if u == s.last_heir} == {
            c for u, c in was if u == s.last_heir
        } | {s.handed[-1]}
        assert offboarded == expected

        # ---- undo: every row back -------------------------------------------------------
        term.keys("Escape")
        term.wait(rf"Bruker: {re.escape(s.name)}  ·  ")
        term.keys("u")
        text = term.wait(r"Forhåndsvisning: Angre: Avslutt bruker", timeout=90)
        assert totals(text, "gi") == {
            "gi": counts["fjern"],
            "endre": counts["endre"],
            "uendret": 0,
            "fjern": counts["gi"],
        }, text
        term.keys("Enter")
        term.wait(r"Utfør «.*»\?[\s│]*gi")
        term.keys("y")
        text = term.wait(r"Resultat: Angre: Avslutt bruker", timeout=90)
        assert totals(text, "opprettet") == {
            "opprettet": counts["fjern"],
            "endret": counts["endre"],
            "uendret": 0,
            "fjernet": counts["gi"],
            "feilet": 0,
        }, text
        undone = grants(db)
        affected = {g[1] for g in granted if g[0] == s.accountant}
        assert len(affected) == s.start_count + BULK
        assert grants_on(undone, affected) == grants_on(granted, affected)
        assert undone == granted
        term.keys("Escape")  # (a key right after escape would read as alt+key: wait first)
        term.wait(rf"Bruker: {re.escape(s.name)}  ·  ")
        term.quit()
    finally:
        term.close()

    # ---- offline: the same edits go to the outbox ---------------------------------------
    offline_db = offline_home / "data" / "demo-api.sqlite"
    assert grants(offline_db) == start
    term = Term(offline_home, "--offline")
    try:
        term.wait(r"○ frakoblet", timeout=90)
        open_accountant(term, s)
        grant_with_template(term, s, online=False)
        text = term.wait(r"1 ventende endring\b")
        assert "Resultat" not in text
        term.wait(rf"Bruker: {re.escape(s.name)}  ·  ")
        text = hand_over(term, s)
        found = totals(text, "gi")
        assert (found["gi"], found["endre"], found["uendret"]) == (
            counts["gi"],
            counts["endre"],
            counts["uendret"],
        ), text
        assert "(fra cachen, frakoblet)" in text
        term.keys("Enter")
        term.wait(r"Utfør «.*»\?[\s│]*gi")
        term.keys("y")
        term.wait(r"2 ventende endringer")
        term.keys("7")
        text = term.wait(r"Ventende endringer: 2 venter, 0 avvist")
        queued = [line for line in text.splitlines() if re.search(r"\bventer\s", line)]
        assert len(queued) == 2, text
        # queued when, in local time and Norwegian format, then what
        assert all(re.match(r"\d\d\.\d\d\.\d{4} \d\d:\d\d\s+venter\s", q) for q in queued), text
        assert f"Gi tilgang ({BULK}) – {s.name}" in queued[0], text
        assert f"Avslutt bruker – {s.name}" in queued[1], text
        term.quit()
    finally:
        term.close()
    assert grants(offline_db) == start  # nothing reached the server while offline

    # ---- reconnect: the outbox is pushed, then synced -----------------------------------
    term = Term(offline_home)
    try:
        term.wait(r"● tilkoblet", timeout=90)
        deadline = time.monotonic() + 90
        while grants(offline_db) != offboarded and time.monotonic() < deadline:
            time.sleep(0.5)
        assert grants(offline_db) == offboarded  # the same state as after the online edits
        term.keys("7")
        text = term.wait(r"Ventende endringer: 0 venter, 0 avvist", timeout=60)
        assert "Ingen ventende endringer" in text
        assert "ventende" not in status_line(text)
        term.quit()
    finally:
        term.close()
