"""The Textual app: modes (dashboard, clients), sync in a thread worker, the status line.

Construct with a cache and, when online, a syncer::

    PartnerApp(CacheDB(path), Syncer(client, cache), language="nb").run()

Without a syncer the app is offline and shows the cache as it is. Nothing here blocks the
event loop: the sync and every cache load run in thread workers and come back as messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Protocol

from textual import work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from partner_tui.core.cache import CacheDB
from partner_tui.core.formatting import parse_iso_utc
from partner_tui.core.i18n import t
from partner_tui.core.queries import (
    Choice,
    ClientListModel,
    ClientListSnapshot,
    get_meta,
    list_groups,
    list_users,
    outbox_counts,
)
from partner_tui.core.safe_text import clean
from partner_tui.screens.base import PartnerScreen
from partner_tui.screens.clients import ClientsScreen
from partner_tui.screens.dashboard import DashboardScreen
from partner_tui.screens.help import HelpScreen, binding_rows
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.status_line import StatusLine, StatusState

__all__ = ["PartnerApp", "SyncReportLike", "SyncerLike", "describe_sync_error"]


class SyncReportLike(Protocol):
    full: bool
    counts: dict[str, int]
    seconds: float


class SyncerLike(Protocol):
    """What the app needs of ``partner_tui.core.sync.Syncer``: a blocking ``sync()`` that
    raises ``ApiUnreachable`` or ``ApiError`` (with ``.problem.detail``) on failure."""

    def sync(self) -> Any: ...


def describe_sync_error(exc: BaseException, language: str = "nb") -> str:
    """A sentence for the user about a failed sync (plain text, never markup)."""
    problem = getattr(exc, "problem", None)
    detail = getattr(problem, "detail", None) or getattr(problem, "title", None)
    if detail:
        return t("sync.failed", language, detail=clean(detail))
    text = clean(str(exc)) or type(exc).__name__
    if type(exc).__name__ == "ApiUnreachable":
        return t("sync.unreachable", language, detail=text)
    return t("sync.failed", language, detail=text)


@dataclass
class LoadedData:
    """Everything the screens read from the cache in one go (built in a worker thread)."""

    snapshot: ClientListSnapshot
    users: list[Choice] = field(default_factory=list)
    groups: list[Choice] = field(default_factory=list)
    has_data: bool = False
    last_sync_at: datetime | None = None
    pending: int = 0
    rejected: int = 0
    me_user_id: int | None = None


def load_data(cache: CacheDB) -> LoadedData:
    with closing(cache.raw()) as conn:
        snapshot = ClientListSnapshot.load(conn)
        pending, rejected = outbox_counts(conn)
        me = get_meta(conn, "me_user_id")
        return LoadedData(
            snapshot=snapshot,
            users=list_users(conn),
            groups=list_groups(conn),
            has_data=get_meta(conn, "cursor") is not None,
            last_sync_at=parse_iso_utc(get_meta(conn, "last_sync_at")),
            pending=pending,
            rejected=rejected,
            me_user_id=int(me) if me and me.isdigit() else None,
        )


class DataLoaded(Message):
    def __init__(self, data: LoadedData) -> None:
        super().__init__()
        self.data = data


class SyncStarted(Message):
    pass


class SyncFinished(Message):
    def __init__(self, report: Any, data: LoadedData) -> None:
        super().__init__()
        self.report, self.data = report, data


class SyncFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class PartnerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Partneradmin"
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "clients": ClientsScreen,
    }
    DEFAULT_MODE = "dashboard"

    def __init__(
        self,
        cache: CacheDB,
        syncer: SyncerLike | None = None,
        *,
        offline_reason: str | None = None,
        today: date | None = None,
        language: str = "nb",
        caller_id: int | None = None,
    ) -> None:
        super().__init__()
        self.language = "en" if language == "en" else "nb"
        install_bindings(self, "app", self.language)
        self.title = t("app.title", self.language)
        self.cache = cache
        self.syncer = syncer
        self.today = today or date.today()
        self.caller_id = caller_id
        self.client_model = ClientListModel(caller_id=caller_id)
        self.users: list[Choice] = []
        self.groups: list[Choice] = []
        self.has_data = False
        self.loaded = False
        self.data_version = 0
        self.status = StatusState(
            online=False, syncing=syncer is not None, note=offline_reason or "",
            language=self.language, loaded=False,
        )
        self._me_user_id: int | None = None

    # ---- shared state for the screens ---------------------------------------------------

    @property
    def effective_caller_id(self) -> int:
        """The user the role filter applies to when no accountant is chosen."""
        who = self.caller_id if self.caller_id is not None else self._me_user_id
        return who if who is not None else 0

    def empty_message(self) -> str:
        """The what-to-do message while the cache holds nothing, else ''."""
        if not self.loaded or self.has_data:
            return ""
        if self.status.syncing:
            return t("empty.waiting", self.language)
        return t("empty.body", self.language)

    def publish_status(self) -> None:
        screen = self.screen
        counts = screen.selection_counts() if isinstance(screen, PartnerScreen) else None
        state = self.status.with_selection(*counts) if counts else self.status.with_selection(None)
        for line in screen.query(StatusLine):
            line.set_state(state)

    def _set_status(self, **changes: Any) -> None:
        from dataclasses import replace

        self.status = replace(self.status, **changes)
        self.publish_status()

    # ---- start-up and loading -----------------------------------------------------------

    def on_mount(self) -> None:
        self.load_cache()
        if self.syncer is not None:
            self.run_sync()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_cache(self) -> None:
        self.post_message(DataLoaded(load_data(self.cache)))

    def on_data_loaded(self, message: DataLoaded) -> None:
        self._apply_data(message.data)

    def _apply_data(self, data: LoadedData) -> None:
        self.client_model.set_snapshot(data.snapshot)
        self.users, self.groups = data.users, data.groups
        self.has_data = data.has_data
        self._me_user_id = data.me_user_id
        if self.caller_id is None:
            self.client_model.caller_id = data.me_user_id
        self.loaded = True
        self.data_version += 1
        self.status = StatusState(
            online=self.status.online, syncing=self.status.syncing,
            last_sync_at=data.last_sync_at, pending=data.pending, rejected=data.rejected,
            note=self.status.note, language=self.language,
        )
        self._screens_changed()

    def _screens_changed(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, PartnerScreen):
                screen._seen_version = self.data_version
                screen.data_changed()
        self.publish_status()

    # ---- sync ---------------------------------------------------------------------------

    def action_sync(self) -> None:
        if self.syncer is None:
            self.notify(t("sync.offline", self.language), severity="warning", markup=False)
            return
        if any(w.group == "sync" and w.is_running for w in self.workers):
            self.notify(t("sync.busy", self.language), markup=False)
            return
        self.run_sync()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        syncer = self.syncer
        if syncer is None:
            return
        self.post_message(SyncStarted())
        try:
            report = syncer.sync()
        except Exception as exc:
            self.post_message(SyncFailed(describe_sync_error(exc, self.language)))
            return
        self.post_message(SyncFinished(report, load_data(self.cache)))

    def on_sync_started(self, _message: SyncStarted) -> None:
        self._set_status(syncing=True)
        if not self.has_data:
            self._screens_changed()

    def on_sync_finished(self, message: SyncFinished) -> None:
        self.status = StatusState(
            online=True, syncing=False, note="", language=self.language,
            last_sync_at=message.data.last_sync_at or datetime.now(UTC),
        )
        self._apply_data(message.data)
        report = message.report
        counts = getattr(report, "counts", {}) or {}
        total = sum(counts.values())
        seconds = f"{float(getattr(report, 'seconds', 0.0)):.1f}"
        if self.language != "en":
            seconds = seconds.replace(".", ",")
        key = "sync.done_full" if getattr(report, "full", False) else "sync.done"
        self.notify(t(key, self.language, n=total, s=seconds), markup=False, timeout=4)

    def on_sync_failed(self, message: SyncFailed) -> None:
        self._set_status(online=False, syncing=False, note="")
        self._screens_changed()
        self.notify(message.text, severity="error", markup=False, timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed cache read (figures, list, detail) is shown, never silently dropped."""
        if event.state == WorkerState.ERROR and event.worker.group != "sync":
            error = event.worker.error
            detail = clean(str(error)) or type(error).__name__
            self.notify(detail, title=t("error.cache", self.language), severity="error",
                        markup=False, timeout=10)

    # ---- other actions ------------------------------------------------------------------

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            screen.dismiss(None)
            return
        title = t("help.title", self.language)
        if isinstance(screen, PartnerScreen):
            title = f"{title}: {t('screen.' + screen.MODE, self.language)}"
        self.push_screen(HelpScreen(binding_rows(screen), title, self.language))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        lang = self.language
        yield SystemCommand(t("screen.dashboard", lang), "1", lambda: self.switch_mode("dashboard"))
        yield SystemCommand(t("screen.clients", lang), "2", lambda: self.switch_mode("clients"))
        yield SystemCommand(t("screen.help", lang), "?", self.action_help)
        yield SystemCommand("Synk" if lang != "en" else "Sync", "r", self.action_sync)
        yield from super().get_system_commands(screen)
