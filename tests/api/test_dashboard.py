"""``GET /v1/dashboard``: the eight figures against values worked out independently."""

import json
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from partner_api.amelding.store import import_amelding, set_status
from partner_api.amelding.write import (
    AmeldingDocument,
    AmeldingEmployment,
    AmeldingRecipient,
    amelding_to_json,
)
from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import Amelding, Client, ClientGroupMember
from partner_api.norwegian_calendar import amelding_deadline
from partner_api.services import dashboard, portfolio
from partner_api.wire import AmeldingStatusIn, DashboardFilter
from tests.conftest import ORGNRS, make_tenant

M, PREV = "2026-10", "2026-09"
NIDS = ["13830197340", "24880199664"]


def amelding(orgnr: str, period: str, mid: str, salaries: list[str], ended: str | None = None):  # type: ignore[no-untyped-def]
    recipients = [
        AmeldingRecipient(
            national_id=NIDS[i],
            employments=[
                AmeldingEmployment(
                    arbeidsforhold_id="a1",
                    start_date=date(2020, 1, 1),
                    end_date=date.fromisoformat(ended) if ended and i == 1 else None,
                )
            ],
            salary_lines=[("fastloenn", Decimal(s))],
            withholding=(Decimal(s) * Decimal("0.3")).to_integral_value(),
        )
        for i, s in enumerate(salaries)
    ]
    doc = AmeldingDocument(
        period=period,
        meldings_id=mid,
        opplysningspliktig=orgnr,
        virksomhet=orgnr,
        payout_date=date.fromisoformat(period + "-20"),
        recipients=recipients,
    )
    return json.dumps(amelding_to_json(doc)).encode()


@pytest.fixture
def portfolio_db(db: Database):  # type: ignore[no-untyped-def]
    t = make_tenant(db, "Alfa", ORGNRS[:4])
    c0, c1, c2, c3 = t.client_ids
    with db.transaction() as s:
        s.get(Client, c3).payroll_enabled = False  # type: ignore[union-attr]
        group = portfolio.create_group(s, t.partner_id, "Utbetaling 20.")
        portfolio.add_members(s, group, [c0, c1])
        portfolio.grant(s, t.partner_id, t.staff_id, c1).role = "ansvarlig"
        portfolio.grant(s, t.partner_id, t.staff_id, c2)
        # Month M: c0 two employees (one left on 2026-09-30 → not active in October), c1 one.
        import_amelding(
            s,
            t.partner_id,
            amelding(ORGNRS[0], M, "m0", ["40000", "35000.50"], ended="2026-09-30"),
            "m0.json",
        )
        import_amelding(s, t.partner_id, amelding(ORGNRS[1], M, "m1", ["52000"]), "m1.json")
        # Month M-1: c0 received, c1 rejected, c2 missing.
        import_amelding(s, t.partner_id, amelding(ORGNRS[0], PREV, "p0", ["40000"]), "p0.json")
        import_amelding(s, t.partner_id, amelding(ORGNRS[1], PREV, "p1", ["52000"]), "p1.json")
        p1 = s.execute(select(Amelding).where(Amelding.meldings_id == "p1")).scalar_one()
        set_status(
            s, p1, AmeldingStatusIn(status="avvist", deviations=[{"alvorlighetsgrad": "avvisning"}])
        )
        group_id = group.id
    return db, t, group_id


def test_figures_for_the_whole_portfolio(portfolio_db) -> None:  # type: ignore[no-untyped-def]
    db, t, _ = portfolio_db
    after_deadline = date(2026, 11, 20)
    assert after_deadline > amelding_deadline(PREV)
    with db.reading() as s:
        f = dashboard.figures(s, t.partner_id, t.admin_id, M, DashboardFilter(), after_deadline)
    assert f.payroll_clients == 3  # c3 has payroll disabled
    assert f.active_employees == 1 + 1  # c0's leaver ended in September
    assert f.salary_paid_ore == (40000_00 + 35000_50) + 52000_00
    assert (f.amelding_rejected_last_month, f.amelding_missing_last_month) == (1, 1)  # c1; c2


def test_missing_counts_only_after_the_deadline(portfolio_db) -> None:  # type: ignore[no-untyped-def]
    db, t, _ = portfolio_db
    deadline = amelding_deadline(PREV)
    with db.reading() as s:
        on = dashboard.figures(s, t.partner_id, t.admin_id, M, DashboardFilter(), deadline)
    assert on.amelding_missing_last_month == 0
    assert on.amelding_rejected_last_month == 1


def test_filters_by_group_user_and_role_over_http(portfolio_db) -> None:  # type: ignore[no-untyped-def]
    db, t, group_id = portfolio_db
    api = TestClient(create_app(db))
    api.headers["Authorization"] = f"Bearer {t.token}"

    def get(**params):  # type: ignore[no-untyped-def]
        r = api.get("/v1/dashboard", params={"month": M, **params})
        assert r.status_code == 200, r.text
        return r.json()

    with db.reading() as s:
        members = set(s.execute(select(ClientGroupMember.client_id)).scalars())
    assert members == set(t.client_ids[:2])
    grouped = get(group=group_id)
    assert grouped["payroll_clients"] == 2
    assert grouped["salary_paid_ore"] == 75000_50 + 52000_00
    staff = get(user=t.staff_id)  # c1 and c2
    assert staff["payroll_clients"] == 2
    assert staff["salary_paid_ore"] == 52000_00
    staff_ansvarlig = get(user=t.staff_id, role="ansvarlig")  # c1 only
    assert staff_ansvarlig["payroll_clients"] == 1
    assert staff_ansvarlig["amelding_rejected_last_month"] == 1
    # The caller (admin) has no grants, so "my clients as ansvarlig" is empty.
    assert get(role="ansvarlig")["payroll_clients"] == 0
