"""Import boundaries (DESIGN.md §2): the UI-free core never loads Textual; the app never loads
the server stack (FastAPI, the server's engines and routes) outside the demo command."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_MODULES = sorted(
    f"partner_tui.core.{p.stem}"
    for p in (ROOT / "partner_tui" / "core").glob("*.py")
    if p.stem != "__init__"
)
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "partner_api.db",
    "partner_api.app",
    "partner_api.routes",
    "partner_api.models",
    "alembic",
)


def loaded_after(imports: list[str]) -> set[str]:
    code = ";".join(f"import {m}" for m in imports) + ";import sys;print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(out.stdout.split())


def test_core_never_imports_textual() -> None:
    assert CORE_MODULES, "no core modules found"
    loaded = loaded_after(CORE_MODULES)
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


@pytest.mark.parametrize("entry", [["partner_tui.app", "partner_tui.cli"], CORE_MODULES])
def test_client_never_imports_the_server_stack(entry: list[str]) -> None:
    loaded = loaded_after(entry)
    leaked = {m for m in loaded for s in SERVER_MODULES if m == s or m.startswith(s + ".")}
    assert not leaked, f"client imports server modules: {sorted(leaked)}"


# ---- the start path (DESIGN.md §8 cold start) ----------------------------------------------

# Not loaded before the dashboard has drawn its figures: the SQLModel cache layer (the start
# path reads with sqlite3), pydantic (wire models), httpx (API client), the sync, the outbox
# and the bulk plans, and of course the server stack. They load in the background or on use.
START_PATH_FORBIDDEN = (
    *SERVER_MODULES,
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "httpx",
    "babel",  # ~80 ms: formatting does nb/en numbers itself (see the test below)
    "partner_api.wire",
    "partner_tui.core.cache_tables",
    "partner_tui.core.sync",
    "partner_tui.core.api_client",
    "partner_tui.core.outbox",
    "partner_tui.core.bulk",
    "partner_tui.core.queries",  # the client list model: built after the first frame
    "partner_tui.screens.access",
    "partner_tui.screens.pending",
    "partner_tui.screens.bulk_screens",
)
START_ENTRIES = [
    "partner_tui.app",
    "partner_tui.cli",
    "partner_tui.core.cache",
    "partner_tui.core.loading",
    "partner_tui.core.deferred",
    "partner_tui.core.figures",
    "partner_tui.screens.dashboard",
]


def forbidden_in(loaded: set[str]) -> list[str]:
    return sorted(
        m for m in loaded for f in START_PATH_FORBIDDEN if m == f or m.startswith(f + ".")
    )


def test_the_start_path_imports_no_orm_network_or_pydantic() -> None:
    assert not forbidden_in(loaded_after(START_ENTRIES))


SHOW_DASHBOARD = """
import asyncio, json, sys
from datetime import date
from pathlib import Path

from partner_tui.app import PartnerApp
from partner_tui.core.cache import CacheDB
from partner_tui.core.deferred import DeferredSyncer

def never_built(stack):
    raise AssertionError("the syncer was built before the dashboard showed its figures")

seen = {}
shown = PartnerApp.figures_shown

def figures_shown(self) -> None:  # the moment the dashboard has its figures
    seen.setdefault("modules", sorted(sys.modules))
    shown(self)

PartnerApp.figures_shown = figures_shown

async def main() -> None:
    cache = CacheDB(Path(sys.argv[1]))  # an up-to-date cache: opened without SQLAlchemy
    syncer = DeferredSyncer(never_built) if sys.argv[2] == "online" else None
    app = PartnerApp(cache, syncer, today=date(2026, 12, 10))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(1000):
            if "modules" in seen:
                break
            await pilot.pause(0.01)
        app.exit()
    print(json.dumps({"figures": "modules" in seen, "modules": seen.get("modules", [])}))

asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_the_dashboard_shows_its_figures_before_any_heavy_import(tmp_path: Path, mode: str) -> None:
    import json

    from partner_tui.core.cache import CacheDB
    from tests.tui.conftest import fill_cache

    path = tmp_path / "cache.sqlite"
    db = CacheDB(path)
    fill_cache(db)
    db.dispose()
    out = subprocess.run(
        [sys.executable, "-c", SHOW_DASHBOARD, str(path), mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["figures"], "the dashboard never showed its figures"
    assert not forbidden_in(set(result["modules"]))


def test_the_start_paths_schema_hash_matches_the_tables() -> None:
    """``cache.SCHEMA_HASH`` lets an up-to-date cache open without SQLAlchemy: it must be the
    hash of the SQLModel tables (``cache_tables`` also refuses to import otherwise)."""
    from partner_tui.core import cache, cache_tables

    assert cache_tables.schema_hash() == cache.SCHEMA_HASH


def test_numbers_are_formatted_exactly_as_babel_would() -> None:
    """``formatting`` applies the nb/en number patterns itself, to keep Babel off the start
    path: the result must be Babel's, character for character (rounding, signs, symbols)."""
    import random
    from decimal import Decimal

    from babel import numbers

    from partner_tui.core.formatting import _decimal, locale_of

    rng = random.Random(7)
    values: list[int | float | Decimal] = [0, 1, -1, 999, 1000, -1000, 10**15, 0.0, -0.0]
    values += [
        0.05,
        0.25,
        0.35,
        -0.04,
        99.95,
        99.949,
        1 / 3,
        2 / 3,
        Decimal("0.005"),
        Decimal("-0.015"),
    ]
    values += [rng.randint(-(10**13), 10**13) for _ in range(300)]
    values += [rng.uniform(-1e7, 1e7) for _ in range(300)]
    values += [rng.random() * 100 for _ in range(300)]
    values += [Decimal(rng.randint(-(10**12), 10**12)).scaleb(-2) for _ in range(300)]
    for value in values:
        for places in (0, 1, 2):
            pattern = "#,##0" + ("." + "0" * places if places else "")
            for language in ("nb", "en"):
                babel = numbers.format_decimal(value, format=pattern, locale=locale_of(language))
                assert _decimal(value, places, language) == babel, (value, places, language)
