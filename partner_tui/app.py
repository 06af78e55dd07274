"""The Textual app: modes (dashboard, clients), sync in a thread worker, the status line.

Construct with a cache and, when online, a syncer::

    PartnerApp(CacheDB(path), Syncer(client, cache), language="nb").run()

Without a syncer the app is offline and shows the cache as it is. Nothing here blocks the
event loop: the sync and every cache load run in thread workers and come back as messages.

Start-up is staged so the dashboard's figures come first: a thread started with the app reads
a few facts and the opening figures (plain ``sqlite3``) while Textual starts, so the first frame
shows them. Only after that frame does the app build the client list, users and groups in a
background worker (``loaded`` turns true when they are in) and start the sync. Screens needing
the list say "laster …" until then. The start path imports neither SQLAlchemy, pydantic, httpx
nor the other screens: they load when first needed.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rich.console import RenderableType
from textual import events, work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from partner_tui.core.cache import CacheDB
from partner_tui.core.figures import FigureFilter, Figures, LoadCancelled
from partner_tui.core.gc_pacing import GarbagePacer
from partner_tui.core.i18n import t
from partner_tui.core.loading import (
    ListData,
    StartFacts,
    StartRead,
    read_lists,
    read_start,
    read_start_facts,
)
from partner_tui.core.safe_text import clean
from partner_tui.screens.base import PartnerScreen
from partner_tui.screens.dashboard import DashboardScreen
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.status_line import StatusLine, StatusState

if TYPE_CHECKING:  # imported where used: they pull in pydantic, httpx and SQLAlchemy
    from partner_tui.core.bulk import AnyPlan, Preview, PreviewRow
    from partner_tui.core.queries import Choice, ClientListModel

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


_LOAD_SEQ = itertools.count(1)  # orders cache reads: an older read never replaces a newer one
START_WAIT_S = 0.3  # on_mount waits this long for the start-up read before drawing without it
AFTER_FRAME = 0.002  # s after a keystroke's frame before its garbage is collected
IDLE_COLLECT_S = 2.0  # … and now and then without keys


@dataclass
class LoadedData:
    """What the screens read from the cache (built in a worker thread): the start facts, and
    the client list, users and groups unless ``lists`` is None (the quick start-up read)."""

    facts: StartFacts
    lists: ListData | None = None
    seq: int = 0
    start: StartRead | None = None  # the start-up read: with the dashboard's opening figures


def load_start(cache: CacheDB, today: date, caller_id: int | None) -> LoadedData:
    """The start-up read: the facts and the opening figures (tens of ms at 10,000 clients)."""
    seq = next(_LOAD_SEQ)
    with closing(cache.raw(query_only=False)) as conn:  # one SELECT of ours
        start = read_start(conn, today, caller_id)
    return LoadedData(start.facts, None, seq, start)


def load_data(cache: CacheDB, should_stop: Callable[[], bool] | None = None) -> LoadedData:
    """Everything, the client list included (raises ``LoadCancelled`` if told to stop)."""
    seq = next(_LOAD_SEQ)
    with closing(cache.raw()) as conn:
        facts = read_start_facts(conn)
        return LoadedData(facts, read_lists(conn, should_stop), seq)


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


def _failed_items(answer: Any) -> int:
    """How many items of a pushed bulk answer failed (0 for other answers)."""
    summary = answer.get("summary") if isinstance(answer, dict) else None
    return int(summary.get("failed", 0)) if isinstance(summary, dict) else 0


class PreviewReady(Message):
    def __init__(self, plan: AnyPlan, preview: Preview, names: Names, exact: bool) -> None:
        super().__init__()
        self.plan, self.preview, self.names, self.exact = plan, preview, names, exact


class BulkApplied(Message):
    def __init__(self, plan: AnyPlan, result: Any, names: Names) -> None:
        super().__init__()
        self.plan, self.result, self.names = plan, result, names


class BulkProgress(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total


class BulkQueued(Message):
    def __init__(self, plan: AnyPlan) -> None:
        super().__init__()
        self.plan = plan


class PushNotice(Message):
    """The outbox push had refusals or partly failed bulk changes (from the sync worker)."""

    def __init__(self, text: str, *, trouble: bool = True) -> None:
        super().__init__()
        self.text, self.trouble = text, trouble


class BulkRefused(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Names:
    """(user name, client label) of a preview row, read from the cache once per plan."""

    def __init__(self, users: dict[int, str], clients: dict[int, str]) -> None:
        self.users, self.clients = users, clients

    def __call__(self, row: PreviewRow) -> tuple[str, str]:
        return (
            self.users.get(row.user_id, f"#{row.user_id}") if row.user_id else "",
            self.clients.get(row.client_id, f"#{row.client_id}"),
        )

    @staticmethod
    def load(conn: Any, plan: AnyPlan) -> Names:
        uids, cids = plan.name_ids(conn)
        users = {
            int(i): clean(n) for i, n in conn.execute("SELECT id, name FROM user") if int(i) in uids
        }
        clients = {
            int(i): f"{clean(o)} {clean(n)}"
            for i, o, n in conn.execute("SELECT id, orgnr, name FROM client")
            if int(i) in cids
        }
        return Names(users, clients)


def _screen(module: str, name: str) -> Screen[Any]:
    """A main screen, its module imported on first use (``MODES``)."""
    from importlib import import_module

    screen: Screen[Any] = getattr(import_module(f"partner_tui.screens.{module}"), name)()
    return screen


class PartnerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Partneradmin"
    MODES: ClassVar[dict[str, Any]] = {  # screens other than the first load when first shown
        "dashboard": DashboardScreen,
        "clients": lambda: _screen("clients", "ClientsScreen"),
        "access": lambda: _screen("access", "AccessScreen"),
        "pending": lambda: _screen("pending", "PendingScreen"),
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
        self._client_model: ClientListModel | None = None  # made on first use (client_model)
        self._users: list[Choice] | None = None  # see users / groups
        self._groups: list[Choice] | None = None
        self.has_data = False
        self.first_month: str | None = None
        self.facts_loaded = False  # the start facts are in (has_data, status, first month)
        self.loaded = False  # … and the client list, users and groups too
        self.data_version = 0
        self.facts_version = 0  # bumped when the facts (so the figures) may have changed
        self._facts_seq = 0
        self._lists_seq = 0
        self._background_started = False
        self._quitting = False  # exit() was called: background reads stop, none start
        self._app_mounted = False
        self.garbage = GarbagePacer()
        self._collect_after_frame = False  # a key came: collect after its frame
        self._start_taken = False
        self._exit_when_mounted: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._opening: StartRead | None = None
        # The start-up read runs while Textual starts (a thread of its own: the event loop does
        # not exist yet). Daemon: quitting never waits for it.
        self._start_read: Future[LoadedData] = Future()
        threading.Thread(target=self._read_start, name="partner-tui-start", daemon=True).start()
        self.status = StatusState(
            online=False,
            syncing=syncer is not None,
            note=offline_reason or "",
            language=self.language,
            loaded=False,
        )
        self._me_user_id: int | None = None
        self.last_bulk: tuple[AnyPlan, Any] | None = None  # (plan, applied result) for undo

    # ---- shared state for the screens ---------------------------------------------------

    @property
    def client_model(self) -> ClientListModel:
        """The client list (empty until ``loaded``), shared by the screens; its module loads
        on first use, after the dashboard's first frame."""
        if self._client_model is None:
            from partner_tui.core.queries import ClientListModel

            caller = self.caller_id if self.caller_id is not None else self._me_user_id
            self._client_model = ClientListModel(caller_id=caller)
        return self._client_model

    @property
    def users(self) -> list[Choice]:
        """The firm's users for the pickers (with their client counts)."""
        if self._users is None:
            self._read_pickers()
        assert self._users is not None
        return self._users

    @property
    def groups(self) -> list[Choice]:
        """Client groups for the pickers (with their client counts)."""
        if self._groups is None:
            self._read_pickers()
        assert self._groups is not None
        return self._groups

    def _read_pickers(self) -> None:
        # Asked for before the background load brought them (a picker opened in the first
        # moments): read them now, a few tens of ms at 10,000 clients, rather than show none.
        from partner_tui.core.queries import list_groups, list_users

        with closing(self.cache.raw()) as conn:
            self._users, self._groups = list_users(conn), list_groups(conn)

    @property
    def effective_caller_id(self) -> int:
        """The user the role filter applies to when no accountant is chosen."""
        who = self.caller_id if self.caller_id is not None else self._me_user_id
        return who if who is not None else 0

    def empty_message(self) -> str:
        """The what-to-do message while the cache holds nothing, else ''."""
        if not self.facts_loaded or self.has_data:
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

    def _read_start(self) -> None:
        try:
            self._start_read.set_result(load_start(self.cache, self.today, self.caller_id))
        except BaseException as exc:  # handed to the event loop (see _finish_start)
            self._start_read.set_exception(exc)

    def take_start_read(self) -> None:
        """Apply the start-up read, waiting up to ``START_WAIT_S`` for it (once). The dashboard
        calls this as it mounts: the read overlaps Textual's start-up, and the first frame
        shows the figures (a short wait beats drawing the screen twice)."""
        if self._start_taken:
            return
        self._start_taken = True
        try:
            data = self._start_read.result(timeout=START_WAIT_S)
        except Exception:  # not yet, or failed: on_mount hands it to a worker
            return
        self._apply_data(data)

    def on_mount(self) -> None:
        self._app_mounted = True
        # The cyclic GC runs after a key's frame has gone out, not while it is being drawn
        # (core/gc_pacing.py); and now and then for what background work leaves.
        self.garbage.start()
        self.set_interval(IDLE_COLLECT_S, self.garbage.collect, name="garbage")
        if self._exit_when_mounted is not None:
            args, kwargs = self._exit_when_mounted
            super().exit(*args, **kwargs)
            return
        self.take_start_read()  # if no screen took it yet
        if not self.facts_loaded:
            self._finish_start()
        elif not self.has_data:
            self._start_background()  # no figures to show first: sync (and load) now
        # Should the dashboard never show figures (an error), load the rest anyway.
        self.set_timer(3.0, self._start_background)

    def on_unmount(self) -> None:
        self.garbage.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._collect_after_frame = self.garbage.running
        await super().on_event(event)

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        """Textual's frame output; after the first frame that follows a key, the collection
        that key's garbage may call for. Not ``call_after_refresh``: Textual runs those at
        the screen's next idle with nothing to draw, which comes before the focused widget
        has even handled the key (it ran 9 of 11 collections inside a keystroke). A moment
        after the frame, not at once: the driver's writer thread needs the interpreter to
        send the frame, and a collection would hold it."""
        super()._display(screen, renderable)
        if self._collect_after_frame and renderable is not None:
            self._collect_after_frame = False
            asyncio.get_running_loop().call_later(AFTER_FRAME, self.garbage.collect)

    @work(thread=True, exclusive=True, group="load-start", exit_on_error=False)
    def _finish_start(self) -> None:
        self.post_message(DataLoaded(self._start_read.result()))

    def opening_figures(self, month: str, flt: FigureFilter, caller_id: int) -> Figures | None:
        """The figures read at start-up, once, if they answer this question for the facts shown
        now (a later read of the facts, e.g. after a sync, drops them)."""
        start, self._opening = self._opening, None
        if start is None or (start.month, start.caller_id, FigureFilter()) != (
            month,
            caller_id,
            flt,
        ):
            return None
        return start.figures

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_cache(self) -> None:
        """Re-read everything (the client list too) in the background."""
        worker = get_current_worker()
        try:
            data = load_data(self.cache, lambda: worker.is_cancelled or self._quitting)
        except LoadCancelled:
            return  # the app is closing, or a newer load replaced this one
        self.post_message(DataLoaded(data))

    def figures_shown(self) -> None:
        """The dashboard drew its figures: after that frame, load the rest and sync."""
        if not self._background_started:
            self.call_after_refresh(self._start_background)

    def _start_background(self) -> None:
        if self._background_started or self._quitting:
            return
        self._background_started = True
        if not self.loaded:
            self.load_cache()
        if self.syncer is not None:
            self.run_sync()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Textual waits for worker threads on the way out: a list still being built stops.
        self._quitting = True
        if not self._app_mounted:
            # The dashboard can be on screen before the app has finished mounting; exiting
            # then would break the mount (MountError). Quit as soon as it is done.
            self._exit_when_mounted = (args, kwargs)
            return
        super().exit(*args, **kwargs)

    def switch_mode(self, mode: str) -> Any:
        if mode != "dashboard":
            self._start_background()  # a screen that needs the client list: load it now
        return super().switch_mode(mode)

    async def action_switch_mode(self, mode: str) -> None:
        # A priority binding, awaited (Textual's is not): the app takes the keys typed right
        # after "2" ("2/ber" in one burst) only once the Clients screen is there, instead of
        # routing them to the screen being left, where "r" would start a sync.
        await self.switch_mode(mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode":
            from textual.widgets import Input

            # The screen keys are priority bindings: in a text field a digit is typed, and
            # under a dialog the keys stay with the dialog (as non-priority keys would).
            return not (self.screen.is_modal or isinstance(self.focused, Input))
        return super().check_action(action, parameters)

    def on_data_loaded(self, message: DataLoaded) -> None:
        self._apply_data(message.data)

    def _apply_data(self, data: LoadedData) -> None:
        facts = data.facts if data.seq > self._facts_seq else None
        lists = data.lists if data.lists is not None and data.seq > self._lists_seq else None
        if facts is None and lists is None:
            return  # an older read than what is shown
        if facts is not None:
            self._facts_seq = data.seq
            self.first_month = facts.first_month
            self.has_data = facts.has_data
            self._me_user_id = facts.me_user_id
            if self.caller_id is None and self._client_model is not None:
                self._client_model.caller_id = facts.me_user_id
            self.facts_loaded = True
            self.facts_version += 1
            self._opening = data.start
            self.status = StatusState(
                online=self.status.online,
                syncing=self.status.syncing,
                last_sync_at=facts.last_sync_at,
                pending=facts.pending,
                rejected=facts.rejected,
                note=self.status.note,
                language=self.language,
            )
        if lists is not None:
            self._lists_seq = data.seq
            self.client_model.set_snapshot(lists.snapshot)
            self._users, self._groups = lists.users, lists.groups
            self.loaded = True
            # The client list is the bulk of the heap (≈1M objects at 10,000 clients) and
            # lives until the next load: set it aside from the cyclic collector, whose full
            # passes over it would otherwise stall a keystroke now and then by ~50 ms. It is
            # plain lists and strings (no cycles), so it is freed all the same when replaced.
            gc.freeze()
        self.data_version += 1
        if not self._screen_stacks[self._current_mode]:
            return  # at start-up (on_load): the screens read the state when they mount
        self._screens_changed()
        if not self.has_data:
            self._start_background()  # no figures to show first: sync (and load) now

    def _screens_changed(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, PartnerScreen):
                screen._seen_version = self.data_version
                screen.data_changed()
            elif callable(refresh := getattr(screen, "data_changed", None)):
                refresh()  # a pushed screen over cached data (templates) follows it too
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
        from partner_tui.core import outbox

        worker = get_current_worker()
        self.post_message(SyncStarted())
        try:
            report = syncer.sync()
            api = getattr(syncer, "api", None)
            if api is not None and outbox.listed(self.cache, outbox.PENDING, outbox.INFLIGHT):
                pushed = outbox.push(self.cache, api)
                outbox.prune_applied(self.cache)
                if pushed.applied:
                    report = syncer.sync()
                failed = [
                    clean(item.summary)
                    for item in pushed.applied
                    if _failed_items(pushed.answers.get(item.id))
                ]
                if pushed.applied or pushed.rejected:  # say what left the queue, always
                    text = t(
                        "pending.pushed",
                        self.language,
                        n=len(pushed.applied),
                        r=len(pushed.rejected),
                    )
                    if failed:  # a partial bulk: the server kept going past failed items
                        text += " · " + t("pending.partly", self.language, what=", ".join(failed))
                    self.post_message(PushNotice(text, trouble=bool(pushed.rejected or failed)))
        except Exception as exc:
            self.post_message(SyncFailed(describe_sync_error(exc, self.language)))
            return
        try:
            data = load_data(self.cache, lambda: worker.is_cancelled or self._quitting)
        except LoadCancelled:
            return  # the app is closing
        self.post_message(SyncFinished(report, data))

    def on_sync_started(self, _message: SyncStarted) -> None:
        self._set_status(syncing=True)
        if not self.has_data:
            self._screens_changed()

    def on_sync_finished(self, message: SyncFinished) -> None:
        self.status = StatusState(
            online=True,
            syncing=False,
            note="",
            language=self.language,
            last_sync_at=message.data.facts.last_sync_at or datetime.now(UTC),
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
            self.notify(
                detail,
                title=t("error.cache", self.language),
                severity="error",
                markup=False,
                timeout=10,
            )

    # ---- the bulk pipeline: plan → preview → confirm → apply → results → undo ---------------

    def _api(self) -> Any:
        """The API client when the app is online (has a syncer with an ``api``), else None."""
        return getattr(self.syncer, "api", None) if self.syncer is not None else None

    def start_preview(self, plan: AnyPlan) -> None:
        from partner_tui.core.bulk import plan_size

        if not plan_size(plan):
            self.notify(t("bulk.nothing", self.language), markup=False)
            return
        self._preview_worker(plan)

    @work(thread=True, exclusive=True, group="bulk-preview", exit_on_error=False)
    def _preview_worker(self, plan: AnyPlan) -> None:
        with closing(self.cache.raw()) as conn:
            names = Names.load(conn, plan)
            local = plan.local_preview(conn)
        api, exact = self._api(), False
        preview = local
        if api is not None:
            try:  # the server's dry run knows the automatic roles and the ceilings
                preview = plan.dry_run(api)
                exact = True
            except Exception:  # unreachable, or refused: the cache's preview still helps
                preview = local
        self.post_message(PreviewReady(plan, preview, names, exact))

    def on_preview_ready(self, message: PreviewReady) -> None:
        from partner_tui.screens.bulk_screens import PreviewScreen

        self.push_screen(
            PreviewScreen(message.plan, message.preview, message.names, exact=message.exact)
        )

    def apply_plan(self, plan: AnyPlan) -> None:
        self._apply_worker(plan)

    @work(thread=True, exclusive=True, group="bulk-apply", exit_on_error=False)
    def _apply_worker(self, plan: AnyPlan) -> None:
        from uuid import uuid4

        from partner_tui.core import bulk, outbox
        from partner_tui.core.api_client import ApiError, ApiUnreachable

        with closing(self.cache.raw()) as conn:
            names = Names.load(conn, plan)
        api = self._api()
        if api is not None:
            try:
                # One key per apply: a resend after a lost answer is replayed, not redone.
                result = plan.apply(api, str(uuid4()), self._apply_progress)
            except ApiUnreachable:
                pass  # queue it below
            except ApiError as exc:
                detail = exc.problem.detail or exc.problem.title
                self.post_message(
                    BulkRefused(t("bulk.refused", self.language, detail=clean(detail)))
                )
                return
            else:
                self.post_message(BulkApplied(plan, result, names))
                return
        with closing(self.cache.raw()) as conn:  # guarded by the versions the user saw
            queued_plan = bulk.offline_form(plan, conn, outbox.queued_touches(self.cache))
        requests = queued_plan.requests()
        for i, (method, path, body) in enumerate(requests):
            part = f" ({i + 1}/{len(requests)})" if len(requests) > 1 else ""
            outbox.enqueue(self.cache, method, path, body, plan.summary + part)
        self.post_message(BulkQueued(plan))

    def _apply_progress(self, done: int, total: int) -> None:
        """From the apply worker: how far a plan sent in several requests has come."""
        self.post_message(BulkProgress(done, total))

    def on_bulk_progress(self, message: BulkProgress) -> None:
        from partner_tui.screens.bulk_screens import PreviewScreen

        if isinstance(self.screen, PreviewScreen):
            self.screen.show_progress(message.done, message.total)

    def _clear_selections(self) -> None:
        """A done (or queued) change empties the selection it was made from, so a second
        key press cannot repeat it by accident."""
        from partner_tui.screens.access import AccessScreen

        for screen in self.screen_stack:
            if isinstance(screen, AccessScreen):
                screen.table.clear_selection()
                self.publish_status()

    def _close_pipeline(self) -> None:
        from partner_tui.screens.bulk_screens import PreviewScreen, ResultsScreen

        while isinstance(self.screen, PreviewScreen | ResultsScreen) or (
            self.screen.is_modal and len(self.screen_stack) > 1
        ):
            self.pop_screen()

    def on_bulk_applied(self, message: BulkApplied) -> None:
        from partner_tui.core import bulk
        from partner_tui.screens.bulk_screens import ResultsScreen

        self._close_pipeline()
        self._clear_selections()
        result = message.result
        if bulk.undo_plan(message.plan, result) is not None:
            self.last_bulk = (message.plan, result)
        self.push_screen(ResultsScreen(message.plan, result, message.names))
        if self.syncer is not None:
            self.run_sync()

    def on_bulk_queued(self, message: BulkQueued) -> None:
        self._close_pipeline()
        self._clear_selections()
        self.notify(
            t("bulk.queued", self.language, summary=clean(message.plan.summary)),
            severity="warning",
            markup=False,
            timeout=8,
        )
        self.load_cache()

    def on_bulk_refused(self, message: BulkRefused) -> None:
        self._close_pipeline()
        self.notify(message.text, severity="error", markup=False, timeout=10)
        self.load_cache()

    def on_push_notice(self, message: PushNotice) -> None:
        self.notify(
            message.text,
            severity="warning" if message.trouble else "information",
            markup=False,
            timeout=10,
        )

    def undo_last(self) -> None:
        if self.last_bulk is None:
            self.notify(t("access.no_undo", self.language), severity="warning", markup=False)
            return
        from partner_tui.core import bulk

        plan, result = self.last_bulk
        # undoing an undo redoes the change: it gets the change's own name back
        prefix = t("bulk.undo", self.language, summary="")
        if plan.summary.startswith(prefix):
            label = plan.summary.removeprefix(prefix)
        else:
            label = t("bulk.undo", self.language, summary=plan.summary)
        undo = bulk.undo_plan(plan, result, label)
        if undo is not None:
            self.start_preview(undo)

    def _export_dialog(self) -> None:
        from partner_tui.screens.bulk_screens import PickModal

        def chosen(value: Any) -> None:
            if value:
                self.export_access(str(value))

        self.push_screen(
            PickModal(
                t("access.export_prompt", self.language), text_input=True, language=self.language
            ),
            chosen,
        )

    def export_access(
        self, path: str, *, user_id: int | None = None, client_id: int | None = None
    ) -> None:
        self._export_worker(path, user_id, client_id)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export_worker(self, path: str, user_id: int | None, client_id: int | None) -> None:
        from pathlib import Path

        from partner_tui.core.export import access_report, write_report

        with closing(self.cache.raw()) as conn:
            rows = access_report(conn, user_id=user_id, client_id=client_id)
        target = Path(path).expanduser()
        try:
            write_report(rows, target)
        except (OSError, ValueError) as exc:
            self.call_from_thread(self.notify, clean(str(exc)), severity="error", markup=False)
            return
        self.call_from_thread(
            self.notify,
            t("access.exported", self.language, n=len(rows), path=str(target)),
            markup=False,
        )

    # ---- other actions ------------------------------------------------------------------

    def action_help(self) -> None:
        from partner_tui.screens.help import HelpScreen, binding_rows

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
        yield SystemCommand(t("screen.access", lang), "3", lambda: self.switch_mode("access"))
        yield SystemCommand(t("screen.pending", lang), "7", lambda: self.switch_mode("pending"))
        yield SystemCommand(t("access.export_all", lang), "e", self._export_dialog)
        yield SystemCommand(t("screen.help", lang), "?", self.action_help)
        yield SystemCommand("Synk" if lang != "en" else "Sync", "r", self.action_sync)
        yield from super().get_system_commands(screen)
