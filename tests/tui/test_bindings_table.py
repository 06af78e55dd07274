"""The binding table is data: ids are unique and every action exists where it is bound."""

from __future__ import annotations

from partner_tui.app import PartnerApp
from partner_tui.core.bindings import BINDINGS, bindings_for
from partner_tui.screens.access import AccessScreen
from partner_tui.screens.audit import AuditScreen
from partner_tui.screens.bulk_screens import ConfirmModal, PickModal, PreviewScreen, ResultsScreen
from partner_tui.screens.client_detail import ClientDetailModal
from partner_tui.screens.clients import ClientsScreen
from partner_tui.screens.dashboard import DashboardScreen
from partner_tui.screens.filter_modal import FilterModal
from partner_tui.screens.handover import HandoverScreen
from partner_tui.screens.help import HelpScreen
from partner_tui.screens.pending import PendingScreen
from partner_tui.screens.templates import TemplatesScreen
from partner_tui.widgets.virtual_table import VirtualTable

TARGETS: dict[str, list[type]] = {
    "app": [PartnerApp],
    "dashboard": [DashboardScreen],
    "clients": [ClientsScreen],
    "table": [VirtualTable],
    "help": [HelpScreen],
    "modal": [FilterModal, ClientDetailModal, PickModal],
    "pick": [PickModal],
    "access": [AccessScreen],
    "preview": [PreviewScreen],
    "results": [ResultsScreen],
    "confirm": [ConfirmModal],
    "pending": [PendingScreen],
    "handover": [HandoverScreen],
    "audit": [AuditScreen],
    "templates": [TemplatesScreen],
}


def test_binding_ids_are_unique_and_scoped() -> None:
    ids = [b.id for b in BINDINGS]
    assert len(ids) == len(set(ids))
    assert {b.scope for b in BINDINGS} == set(TARGETS)


def test_every_action_exists() -> None:
    for scope, classes in TARGETS.items():
        for spec in bindings_for(scope):
            action = spec.action.removeprefix("app.").split("(", 1)[0]
            owners = [PartnerApp] if spec.action.startswith("app.") else classes
            for cls in owners:
                assert hasattr(cls, f"action_{action}"), (spec.id, cls.__name__)


def test_design_keys_are_bound() -> None:
    keys = {b.id: b.keys.split(",") for b in BINDINGS}
    assert keys["app.dashboard"] == ["1"] and keys["app.clients"] == ["2"]
    assert "question_mark" in keys["app.help"] and keys["app.sync"] == ["r"]
    assert keys["app.quit"] == ["q"] and keys["app.palette"] == ["ctrl+p"]
    assert {"j", "down"} <= set(keys["table.down"]) and {"k", "up"} <= set(keys["table.up"])
    assert {"g", "home"} <= set(keys["table.top"]) and {"G", "end"} <= set(keys["table.bottom"])
    assert keys["table.toggle"] == ["space"] and keys["table.select_all"] == ["a"]
    assert keys["table.open"] == ["enter"] and keys["clients.search"] == ["slash"]
    assert keys["clients.clear"] == ["escape"]


async def test_a_keymap_remaps_by_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from partner_tui.core.cache import CacheDB
    from tests.tui.conftest import TODAY, fill_cache

    db = CacheDB(tmp_path / "c.sqlite")
    fill_cache(db)
    app = PartnerApp(db, today=TODAY)
    app.set_keymap({"app.clients": "f2"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
    db.dispose()
