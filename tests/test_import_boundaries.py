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
