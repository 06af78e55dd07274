"""The demo portfolio generator (partner_api.demo): deterministic, valid, consistent with its files.

A small portfolio (12 clients, 24 months to 2026-11) is generated once per module into a
temporary SQLite file; the checks read it back with plain SQL and the written JSON files with
``json`` (never with the project's a-melding parser, so the files are checked independently).
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from partner_api.amelding import store
from partner_api.db import Database
from partner_api.demo import generator
from partner_api.demo.generator import DemoResult, generate_demo
from partner_api.identifiers import is_valid_national_id, is_valid_orgnr
from partner_api.models import (
    Absence,
    AccessGrant,
    Amelding,
    Client,
    ClientGroup,
    ClientGroupMember,
    ClientMonth,
    Employee,
    Employment,
    ExpenseClaim,
    Partner,
    PayrollRun,
    User,
)
from partner_api.norwegian_calendar import month_add
from partner_api.services import payroll_events
from partner_api.services.tokens import user_for_token

END = "2026-11"
PREVIOUS = month_add(END, -1)
CLIENTS = 12


@dataclass
class Demo:
    db: Database
    result: DemoResult
    files: Path
    progress: list[tuple[str, int, int]]


def _generate(
    base: Path, *, seed: int = 1, files: bool = True, parallel: bool | None = None
) -> Demo:
    calls: list[tuple[str, int, int]] = []
    base.mkdir(parents=True, exist_ok=True)
    db = Database(str(base / "demo.sqlite"))
    result = generate_demo(
        db,
        clients=CLIENTS,
        seed=seed,
        out_dir=base / "files" if files else None,
        end_month=END,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
        parallel=parallel,
    )
    return Demo(db, result, base / "files", calls)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = _generate(tmp_path_factory.mktemp("demo"))
    yield d
    d.db.dispose()


def _rows(db: Database, stmt: Any) -> list[Any]:
    with db.reading() as session:
        return list(session.execute(stmt).all())


def _clients(db: Database) -> list[tuple[str, str]]:
    return [tuple(r) for r in _rows(db, select(Client.orgnr, Client.name).order_by(Client.id))]


def _read_files(files: Path) -> list[dict[str, Any]]:
    """Every a-melding file, read with json: what a third party would see in the folder."""
    out = []
    for path in sorted(files.glob("*.json")):
        if path.name == "manifest.json":
            continue
        lev = json.loads(path.read_text(encoding="utf-8"))["leveranse"]
        cash = Decimal(0)
        ids = []
        for virksomhet in lev["oppgave"]["virksomhet"]:
            for person in virksomhet.get("inntektsmottaker", []):
                ids.append(person["norskIdentifikator"])
                for inntekt in person.get("inntekt", []):
                    if inntekt["fordel"] == "kontantytelse" and "loennsinntekt" in inntekt:
                        cash += Decimal(str(inntekt["beloep"]))
        out.append(
            {
                "file": path.name,
                "period": lev["kalendermaaned"],
                "meldingsId": lev["meldingsId"],
                "replaces": lev.get("erstatterMeldingsId"),
                "orgnr": lev["opplysningspliktig"]["norskIdentifikator"],
                "virksomheter": [v["norskIdentifikator"] for v in lev["oppgave"]["virksomhet"]],
                "cash": cash,
                "ids": ids,
            }
        )
    return out


# ---- the result -----------------------------------------------------------------------------


def test_result_is_a_partneradmin_login(demo: Demo) -> None:
    r = demo.result
    assert r.clients == CLIENTS and r.end_month == END and r.start_month == month_add(END, -23)
    assert r.email == "kari.nordmann@nordlys.example"
    with demo.db.reading() as session:
        user = user_for_token(session, r.token)
        assert user is not None and user.email == r.email and user.is_partneradmin
        assert user.partner_id == r.partner_id
        users = session.execute(select(User).where(User.partner_id == r.partner_id)).scalars()
        users = list(users)
    assert len(users) == r.users >= 20
    assert sum(u.is_partneradmin for u in users) >= 2
    assert any(set(u.name) & set("æøåÆØÅ") for u in users)
    assert all(u.email.endswith("@nordlys.example") and u.email.isascii() for u in users)
    assert len(_clients(demo.db)) == CLIENTS
    assert r.ameldinger == len(list(demo.files.glob("*-*.json")))


def test_progress_is_reported(demo: Demo) -> None:
    stages = [stage for stage, _, _ in demo.progress]
    assert {"klienter", "a-meldinger", "ferdig"} <= set(stages)
    last = [(done, total) for stage, done, total in demo.progress if stage == "a-meldinger"][-1]
    assert last[0] == last[1] > 0


def test_refuses_a_database_that_has_the_demo(demo: Demo) -> None:
    with pytest.raises(ValueError, match="exists already"):
        generate_demo(demo.db, clients=2, end_month=END)


# ---- determinism ----------------------------------------------------------------------------


def test_same_seed_same_portfolio_other_seed_other(demo: Demo, tmp_path: Path) -> None:
    again = _generate(tmp_path / "again")
    other = _generate(tmp_path / "other", seed=2)
    try:
        manifest = (demo.files / "manifest.json").read_bytes()
        assert (again.files / "manifest.json").read_bytes() == manifest
        assert _clients(again.db) == _clients(demo.db)
        names = sorted(p.name for p in demo.files.iterdir())
        assert sorted(p.name for p in again.files.iterdir()) == names
        for name in names:  # same people, amounts and meldingsIds, byte for byte
            assert (again.files / name).read_bytes() == (demo.files / name).read_bytes(), name

        assert (other.files / "manifest.json").read_bytes() != manifest
        assert _clients(other.db) != _clients(demo.db)
        assert {o for o, _ in _clients(other.db)}.isdisjoint(o for o, _ in _clients(demo.db))
    finally:
        again.db.dispose()
        other.db.dispose()


# ---- validity -------------------------------------------------------------------------------


def test_every_identifier_is_valid(demo: Demo) -> None:
    orgnrs = [o for o, _ in _clients(demo.db)]
    (partner_orgnr,) = [r[0] for r in _rows(demo.db, select(Partner.orgnr))]
    assert all(is_valid_orgnr(o) for o in [*orgnrs, partner_orgnr])
    assert len(set(orgnrs)) == len(orgnrs) and partner_orgnr not in orgnrs

    national_ids = [r[0] for r in _rows(demo.db, select(Employee.national_id))]
    assert national_ids and all(is_valid_national_id(n) for n in national_ids)
    assert all(80 < int(n[2:4]) <= 92 for n in national_ids)  # Tenor synthetic: month + 80

    for f in _read_files(demo.files):
        assert is_valid_orgnr(f["orgnr"]) and all(is_valid_orgnr(v) for v in f["virksomheter"])
        assert all(is_valid_national_id(n) for n in f["ids"])
        assert len(set(f["ids"])) == len(f["ids"])


def test_hostile_and_norwegian_names(demo: Demo) -> None:
    names = [n for _, n in _clients(demo.db)]
    assert "Acme [/] AS" in names
    assert "[@click=app.quit] Rør AS" in names
    assert any(set(n) & set("æøåÆØÅ") for n in names if "[" not in n)
    assert len(set(names)) == len(names)


def test_employment_dates_and_sizes(demo: Demo) -> None:
    rows = _rows(demo.db, select(Employment.start_date, Employment.end_date))
    assert all(start is not None for start, _ in rows)
    assert all(end is None or end >= start for start, end in rows)
    assert any(end is not None for _, end in rows)  # leavers
    assert any(start.isoformat()[:7] >= month_add(END, -23) for start, _ in rows)  # hires
    sizes = [
        r[0]
        for r in _rows(
            demo.db,
            select(ClientMonth.active_employees).where(
                ClientMonth.month == END, ClientMonth.amelding_status.is_not(None)
            ),
        )
    ]
    assert sizes and min(sizes) >= 1


# ---- the files against the database ---------------------------------------------------------


def test_salary_in_files_equals_salary_in_database(demo: Demo) -> None:
    files = _read_files(demo.files)
    replaced = {f["replaces"] for f in files if f["replaces"]}
    assert replaced, "the demo should contain corrected (replaced) a-meldinger"
    by_month: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for f in files:
        if f["meldingsId"] in replaced:
            continue
        assert f["orgnr"] not in by_month[f["period"]], "one current a-melding per client"
        by_month[f["period"]][f["orgnr"]] = f["cash"]
    assert set(by_month) == {month_add(END, -n) for n in range(24)}

    salary = defaultdict(int)
    for month, ore in _rows(demo.db, select(ClientMonth.month, ClientMonth.salary_paid_ore)):
        salary[month] += ore
    for month, per_client in by_month.items():
        assert int(sum(per_client.values()) * 100) == salary[month], month
    assert salary[END] > 0


def test_manifest_describes_the_files(demo: Demo) -> None:
    manifest = json.loads((demo.files / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["endMonth"] == END and manifest["seed"] == 1
    files = {f["file"]: f for f in _read_files(demo.files)}
    entries = {e["file"]: e for e in manifest["files"]}
    assert entries.keys() == files.keys()
    by_id = {f["meldingsId"]: f for f in files.values()}
    for name, e in entries.items():
        f = files[name]
        assert (e["meldingsId"], e["erstatterMeldingsId"], e["orgnr"], e["period"]) == (
            f["meldingsId"],
            f["replaces"],
            f["orgnr"],
            f["period"],
        )
        if e["replacedBy"] is not None:
            assert by_id[e["replacedBy"]]["replaces"] == e["meldingsId"]
            assert e["status"] == "erstattet"
    statuses = dict(_rows(demo.db, select(Amelding.meldings_id, Amelding.status)))
    assert {e["meldingsId"]: e["status"] for e in entries.values()} == statuses


def test_rejected_and_missing_in_the_last_two_months(demo: Demo) -> None:
    manifest = json.loads((demo.files / "manifest.json").read_text(encoding="utf-8"))
    with demo.db.reading() as session:
        payroll_clients = {
            c.id: c.orgnr
            for c in session.execute(
                select(Client).where(Client.status == "active", Client.payroll_enabled)
            ).scalars()
        }
        for month in (PREVIOUS, END):
            rejected = (
                session.execute(
                    select(ClientMonth.client_id).where(
                        ClientMonth.month == month, ClientMonth.amelding_status == "avvist"
                    )
                )
                .scalars()
                .all()
            )
            assert rejected, month
            for row in session.execute(
                select(Amelding).where(Amelding.period == month, Amelding.status == "avvist")
            ).scalars():
                assert json.loads(row.deviations)[0]["alvorlighetsgrad"] == "avvisning"
            reported = set(
                session.execute(
                    select(Amelding.client_id).where(Amelding.period == month)
                ).scalars()
            )
            missing = {orgnr for cid, orgnr in payroll_clients.items() if cid not in reported}
            assert missing, month
            assert missing == {m["orgnr"] for m in manifest["missing"] if m["period"] == month}
            # Their payroll was still paid; the run is not closed without an accepted a-melding.
            statuses = set(
                session.execute(
                    select(PayrollRun.status)
                    .join(Client, Client.id == PayrollRun.client_id)
                    .where(PayrollRun.period == month, Client.orgnr.in_(missing))
                ).scalars()
            )
            assert statuses == {"paid"}


# ---- access and roles -----------------------------------------------------------------------


def test_runs_are_by_users_with_access_and_set_the_roles(demo: Demo) -> None:
    with demo.db.reading() as session:
        grants = {
            (g.user_id, g.client_id): g for g in session.execute(select(AccessGrant)).scalars()
        }
        runs = (
            session.execute(
                select(PayrollRun).order_by(PayrollRun.period, PayrollRun.pay_date, PayrollRun.id)
            )
            .scalars()
            .all()
        )
    assert runs
    latest: dict[int, int | None] = {}
    for run in runs:
        assert (run.run_by_user_id, run.client_id) in grants
        assert grants[(run.run_by_user_id, run.client_id)].access_level != "read"
        latest[run.client_id] = run.run_by_user_id
    ansvarlig = [g for g in grants.values() if g.role == "ansvarlig" and g.role_source == "auto"]
    assert ansvarlig
    for g in grants.values():
        if g.role_source == "auto":
            assert (g.role == "ansvarlig") == (latest.get(g.client_id) == g.user_id)
    per_client = Counter(client for _, client in grants)
    assert set(per_client) == {cid for cid, *_ in _rows(demo.db, select(Client.id))}
    assert all(1 <= n <= 4 for n in per_client.values())
    assert {g.access_level for g in grants.values()} <= {"full", "payroll", "read"}


def test_groups_follow_the_payout_day(demo: Demo) -> None:
    with demo.db.reading() as session:
        rows = session.execute(
            select(ClientGroup.name, Client.payout_day)
            .join(ClientGroupMember, ClientGroupMember.group_id == ClientGroup.id)
            .join(Client, Client.id == ClientGroupMember.client_id)
        ).all()
        groups = set(session.execute(select(ClientGroup.name)).scalars())
    assert {
        "Utbetaling 20.",
        "Utbetaling 25.",
        "Utbetaling siste virkedag",
        "Nøkkelkunder",
        "Landbruk",
    } <= groups
    expected = {"Utbetaling 20.": 20, "Utbetaling 25.": 25, "Utbetaling siste virkedag": 31}
    for group, day in rows:
        if group in expected:
            assert day == expected[group], group


def test_runs_claims_and_absences_exist_every_month(demo: Demo) -> None:
    for table in (PayrollRun, ExpenseClaim, Absence):
        months = {r[0] for r in _rows(demo.db, select(table.period))}
        assert len(months) >= 20, table
    steps = _rows(
        demo.db,
        select(ClientMonth.auto_steps, ClientMonth.total_steps).where(ClientMonth.month == END),
    )
    auto, total = sum(a for a, _ in steps), sum(t for _, t in steps)
    assert 0.3 <= auto / total <= 1.0


# ---- stored through the real paths only -----------------------------------------------------


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Table contents by natural keys (no ids, versions or timestamps)."""
    with db.reading() as session:
        orgnr = dict(session.execute(select(Client.id, Client.orgnr)).all())
        people = {
            e.id: (orgnr[e.client_id], e.national_id, e.name)
            for e in session.execute(select(Employee)).scalars()
        }
        email = dict(session.execute(select(User.id, User.email)).all())

        def rows(table: Any) -> list[tuple[Any, ...]]:
            cols = [
                c.name
                for c in table.__table__.columns
                if c.name not in {"id", "version", "received_at", "created_at"}
            ]
            out = []
            for obj in session.execute(select(table)).scalars():
                values = []
                for c in cols:
                    v = getattr(obj, c)
                    if c == "client_id":
                        v = orgnr[v]
                    elif c == "employee_id":
                        v = people[v]
                    elif c in ("user_id", "run_by_user_id"):
                        v = email.get(v)
                    values.append(v)
                out.append(tuple(values))
            return sorted(out, key=repr)

        return {
            "amelding": rows(Amelding),
            "employee": sorted(people.values()),
            "employment": rows(Employment),
            "client_month": rows(ClientMonth),
            "payroll_run": rows(PayrollRun),
            "expense_claim": rows(ExpenseClaim),
            "absence": rows(Absence),
            "access_grant": rows(AccessGrant),
        }


def test_everything_goes_through_the_real_paths(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file goes through the importer, every feedback through ``set_status``, every run,
    claim and absence through ``apply_events``, and nothing else writes those tables. Built with
    the history in a second process, the portfolio is the one built in-process."""
    files: list[str] = []
    feedback: list[str] = []
    refs: dict[str, set[str]] = defaultdict(set)
    real_import_many, real_set_status = store.import_many, store.set_status
    real_apply_events = payroll_events.apply_events

    def import_many(session: Any, partner_id: int, batch: Any) -> Any:
        files.extend(source for _, source in batch)
        return real_import_many(session, partner_id, batch)

    def set_status(session: Any, amelding: Amelding, status: Any) -> None:
        feedback.append(amelding.meldings_id)
        real_set_status(session, amelding, status)

    def apply_events(session: Any, partner_id: int, batch: Any) -> Any:
        for table, items in (
            ("payroll_run", batch.payroll_runs),
            ("expense_claim", batch.expense_claims),
            ("absence", batch.absences),
        ):
            refs[table].update(item.external_ref for item in items)
        return real_apply_events(session, partner_id, batch)

    monkeypatch.setattr(store, "import_many", import_many)
    monkeypatch.setattr(store, "set_status", set_status)
    monkeypatch.setattr(payroll_events, "apply_events", apply_events)
    other = _generate(tmp_path, parallel=True)
    try:
        manifest = json.loads((other.files / "manifest.json").read_text(encoding="utf-8"))
        assert len(files) == len(set(files)) == len(manifest["files"]) == other.result.ameldinger
        assert set(files) == {e["file"] for e in manifest["files"]}
        with other.db.reading() as session:
            assert session.execute(select(func.count()).select_from(Amelding)).scalar_one() == len(
                files
            )
            assert set(feedback) == set(
                session.execute(
                    select(Amelding.meldings_id).where(Amelding.deviations != "[]")
                ).scalars()
            )
            for table, model in (
                ("payroll_run", PayrollRun),
                ("expense_claim", ExpenseClaim),
                ("absence", Absence),
            ):
                stored = list(session.execute(select(model.external_ref)).scalars())
                assert stored and sorted(stored) == sorted(refs[table]), table
        assert feedback and any(e["status"] == "avvist" for e in manifest["files"])

        # The same portfolio as the in-process build: files, manifest and every table.
        assert (other.files / "manifest.json").read_bytes() == (
            demo.files / "manifest.json"
        ).read_bytes()
        for entry in manifest["files"]:
            name = entry["file"]
            assert (other.files / name).read_bytes() == (demo.files / name).read_bytes(), name
        mine, theirs = _snapshot(other.db), _snapshot(demo.db)
        assert all(mine.values())
        for table in mine:
            assert mine[table] == theirs[table], table
    finally:
        other.db.dispose()


def test_a_failure_on_either_side_stops_both_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if generator._fork_context() is None:
        pytest.skip("the history is built in-process here (no fork, or other threads)")
    # The history process fails: the build fails with its error, and leaves no manifest.
    with monkeypatch.context() as patch:

        def broken(self: Any, period: Any) -> Any:
            raise ValueError(f"no history for {period.name}")

        patch.setattr(generator._ClientHistory, "month", broken)
        with pytest.raises(RuntimeError, match=r"(?s)building the demo history failed.*no history"):
            _generate(tmp_path / "history", parallel=True)
    assert not (tmp_path / "history" / "files" / "manifest.json").exists()
    assert not list((tmp_path / "history" / "files").glob("*.partial"))
    assert not multiprocessing.active_children()

    # The import fails half-way: the history process, still sending, is stopped too.
    calls = 0
    real_import_many = store.import_many

    def failing(session: Any, partner_id: int, files: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise OSError("disk full")
        return real_import_many(session, partner_id, files)

    monkeypatch.setattr(store, "import_many", failing)
    with pytest.raises(OSError, match="disk full"):
        _generate(tmp_path / "import", parallel=True)
    assert not multiprocessing.active_children()
