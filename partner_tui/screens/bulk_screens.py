"""The bulk pipeline's screens: pick (a small option modal), preview, confirm, results.

The screens only show what the app's workers computed; nothing here does IO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from partner_tui.core.bulk import AnyPlan, AnyResult, GrantView, Preview, PreviewRow, plan_size
from partner_tui.core.formatting import format_date
from partner_tui.core.i18n import problem_text, t
from partner_tui.core.safe_text import plain
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.ordered_input import OrderedInput
from partner_tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from partner_tui.app import PartnerApp

MAX_OPTIONS = 300


def grant_text(view: GrantView | None, language: str) -> str:
    if view is None:
        return "–"
    role = view.role + ("*" if view.role_source == "manual" else "")
    parts = [t(f"access.level.{view.access_level}", language), role]
    if view.valid_until is not None:
        parts.append(format_date(view.valid_until, language))
    return " · ".join(parts)


def reason_text(row: PreviewRow, language: str) -> str:
    """The server's reason in the user's language when its problem type is known (the
    server's own English text otherwise, so no reason is ever lost)."""
    return problem_text(row.code, row.reason, language)


class ListSource:
    """A virtual-table source over a list of (key, cells) rows."""

    def __init__(self, rows: Sequence[tuple[int, Sequence[str]]] = ()) -> None:
        self.rows = list(rows)

    @property
    def visible_count(self) -> int:
        return len(self.rows)

    def row_key(self, i: int) -> int:
        return self.rows[i][0]

    def cells(self, i: int) -> Sequence[str]:
        return self.rows[i][1]

    def visible_keys(self) -> Set[int]:
        return {k for k, _ in self.rows}


class PickModal(ModalScreen[Any]):
    """Pick one option (with a search box when there are many); optionally a free text."""

    DEFAULT_CSS = """
    PickModal { align: center middle; }
    PickModal > Vertical {
        width: 70; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 1 2;
    }
    PickModal OptionList { height: auto; max-height: 20; }
    PickModal Label { text-style: bold; }
    """

    def __init__(
        self,
        title: str,
        options: Sequence[tuple[str, Any]] = (),
        *,
        text_input: bool = False,
        language: str = "nb",
        value: str = "",
        current: Any = None,
    ) -> None:
        super().__init__()
        install_bindings(self, "modal", language)
        install_bindings(self, "pick", language)
        self.language = language
        self.current = current  # the option to start on (editing: today's value)
        self.value = value  # the text box's starting text (editing a name)
        self._answered = False
        self.title_text = title
        self.options = list(options)
        self.text_input = text_input or len(self.options) > 12

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(self.title_text))
            if self.text_input:
                # select_on_focus off: typing after an edited name extends it, not replaces it
                hint = t("pick.search_placeholder", self.language) if self.options else ""
                box = OrderedInput(
                    self.value,
                    placeholder=hint,
                    id="pick-text",
                    compact=True,
                    select_on_focus=False,
                )
                box.cursor_blink = False
                yield box
            if self.options:
                yield OptionList(*self._filtered(""), id="pick-list")

    def _filtered(self, text: str) -> list[Option]:
        needle = text.strip().casefold()
        shown = [
            Option(plain(label), id=str(i))
            for i, (label, _v) in enumerate(self.options)
            if not needle or needle in label.casefold()
        ]
        return shown[:MAX_OPTIONS]

    def on_mount(self) -> None:
        if self.text_input:
            self.query_one("#pick-text", Input).focus()
        else:
            listing = self.query_one("#pick-list", OptionList)
            listing.focus()
            start = next((i for i, (_l, v) in enumerate(self.options) if v == self.current), None)
            if start is not None and self.current is not None:
                listing.highlighted = start

    def on_input_changed(self, event: Input.Changed) -> None:
        if not self.options:
            return
        listing = self.query_one("#pick-list", OptionList)
        listing.clear_options()
        listing.add_options(self._filtered(event.value))
        if listing.option_count:
            listing.highlighted = 0

    def _answer(self, value: Any) -> None:
        """Dismiss once: a second Enter before the modal is gone must not pop another screen."""
        if not self._answered:
            self._answered = True
            self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self.options:
            self._answer(event.value)
            return
        listing = self.query_one("#pick-list", OptionList)
        if listing.option_count:
            index = listing.highlighted or 0
            self._choose(listing.get_option_at_index(index).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        if option_id is not None:
            self._answer(self.options[int(option_id)][1])

    def action_cancel(self) -> None:
        self._answer(None)

    # ↑/↓ in the search box move in the list: the box keeps the keys, so typing goes on.
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("list_down", "list_up"):
            return bool(self.options) and isinstance(self.focused, Input)
        return super().check_action(action, parameters)

    def action_list_down(self) -> None:
        self.query_one("#pick-list", OptionList).action_cursor_down()

    def action_list_up(self) -> None:
        self.query_one("#pick-list", OptionList).action_cursor_up()


class ConfirmModal(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical {
        width: 72; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, text: str, language: str = "nb") -> None:
        super().__init__()
        install_bindings(self, "confirm", language)
        self.text = text
        self.language = language
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical():
            # line by line: clean() strips control characters, newlines included
            lines = [plain(line, style="bold") for line in self.text.split("\n")]
            yield Static(Text("\n").join(lines), id="confirm-text")
            yield Static(plain(t("confirm.hint", self.language)))

    def _answer(self, value: bool) -> None:
        if not self._answered:  # a key pressed twice answers once
            self._answered = True
            self.dismiss(value)

    def action_yes(self) -> None:
        self._answer(True)

    def action_no(self) -> None:
        self._answer(False)


def totals_text(preview: Preview, language: str) -> str:
    text = t(
        "bulk.totals",
        language,
        **{k: preview.totals.get(k, 0) for k in ("grant", "change", "unchanged", "revoke")},
    )
    if preview.totals.get("failed"):
        text += ", " + t("bulk.failed_n", language, n=preview.totals["failed"])
    if preview.totals.get("lowered"):
        text += " – " + t("bulk.lowered_n", language, n=preview.totals["lowered"])
    return text


def attention_first(rows: Sequence[PreviewRow]) -> list[PreviewRow]:
    """Failures and lowered levels on top of a long preview, where they cannot be missed."""
    return sorted(rows, key=lambda r: 0 if r.change == "failed" else 1 if r.lowers else 2)


class _PipelineScreen(Screen[None]):
    SCOPE = ""

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPE, self.papp.language)

    @property
    def papp(self) -> PartnerApp:
        return cast("PartnerApp", self.app)

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.papp.language, **values)

    def _rows(
        self,
        rows: Sequence[PreviewRow],
        names: Callable[[PreviewRow], tuple[str, str]],
        status: Callable[[PreviewRow], str],
    ) -> list[tuple[int, Sequence[str]]]:
        lang = self.papp.language
        out: list[tuple[int, Sequence[str]]] = []
        for i, row in enumerate(rows):
            user, client = names(row)
            before = (
                row.before_text if row.before_text is not None else grant_text(row.before, lang)
            )
            after = row.after_text if row.after_text is not None else grant_text(row.after, lang)
            out.append((i, (user, client, before, "→", after, status(row), reason_text(row, lang))))
        return out

    def _columns(self) -> list[Column]:
        lang = self.papp.language
        return [
            Column("user", t("col.user", lang), flex=2, min_width=10),
            Column("client", t("col.client", lang), flex=3, min_width=14),
            Column("before", t("col.before", lang), flex=3, min_width=16),
            Column("arrow", "", width=1),
            Column("after", t("col.after", lang), flex=3, min_width=16),
            Column("change", t("col.change", lang), width=9),
            Column("reason", t("col.reason", lang), flex=2, min_width=8),
        ]


class PreviewScreen(_PipelineScreen):
    """What the plan would change, per client, with totals; enter confirms (counts again)."""

    SCOPE = "preview"

    def __init__(
        self,
        plan: AnyPlan,
        preview: Preview,
        names: Callable[[PreviewRow], tuple[str, str]],
        *,
        exact: bool,
    ) -> None:
        super().__init__()
        self.plan, self.preview, self.names, self.exact = plan, preview, names, exact

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        rows = self._rows(
            attention_first(self.preview.rows),
            self.names,
            lambda r: t("change.lower" if r.lowers else f"change.{r.change}", lang),
        )
        yield Static(
            plain(self._t("bulk.preview_title", summary=self.plan.summary), style="bold"),
            id="preview-title",
        )
        exact = self._t("bulk.exact" if self.exact else "bulk.local")
        if not self.exact and self.papp.status.pending:
            # the cache does not know what is still queued: say so rather than look complete
            n = self.papp.status.pending
            exact += " " + self._t("bulk.local_pending_1" if n == 1 else "bulk.local_pending", n=n)
        yield Static(plain(f"{totals_text(self.preview, lang)}  {exact}"), id="preview-totals")
        yield VirtualTable(
            self._columns(), ListSource(rows), selectable=False, language=lang, id="preview-table"
        )
        yield Static(plain(self._t("bulk.hint")), id="preview-progress")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        lang = self.papp.language

        def answered(yes: bool | None) -> None:
            if yes:
                self.query_one("#preview-progress", Static).update(
                    plain(self._t("bulk.applying", n=plan_size(self.plan)))
                )
                self.papp.apply_plan(self.plan)

        self.app.push_screen(
            ConfirmModal(
                t(
                    "bulk.confirm",
                    lang,
                    summary=self.plan.summary,
                    totals=totals_text(self.preview, lang),
                ),
                lang,
            ),
            answered,
        )

    def show_progress(self, done: int, total: int) -> None:
        self.query_one("#preview-progress", Static).update(
            plain(self._t("bulk.progress", done=done, total=total))
        )

    def action_back(self) -> None:
        self.dismiss(None)


class ResultsScreen(_PipelineScreen):
    """Per-item results of an applied plan; failures with the server's reason; R retries."""

    SCOPE = "results"

    def __init__(
        self, plan: AnyPlan, result: AnyResult, names: Callable[[PreviewRow], tuple[str, str]]
    ) -> None:
        super().__init__()
        self.plan, self.result, self.names = plan, result, names

    def compose(self) -> ComposeResult:
        from partner_tui.core.bulk import result_rows

        lang = self.papp.language
        statuses = {i: str(getattr(r, "status", "")) for i, r in enumerate(self.result.results)}
        rows = self._rows(result_rows(self.result), self.names, lambda r: "")
        rows = [(k, (*cells[:5], t(f"result.{statuses[k]}", lang), cells[6])) for k, cells in rows]
        yield Static(
            plain(self._t("bulk.results_title", summary=self.plan.summary), style="bold"),
            id="results-title",
        )
        s = self.result.summary
        yield Static(
            plain(
                self._t(
                    "bulk.results_totals",
                    created=s.created,
                    updated=s.updated,
                    unchanged=s.unchanged,
                    deleted=s.deleted,
                    failed=s.failed,
                )
            ),
            id="results-totals",
        )
        yield VirtualTable(
            self._columns(), ListSource(rows), selectable=False, language=lang, id="results-table"
        )
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_back()

    def action_retry(self) -> None:
        from partner_tui.core.bulk import retry_plan

        retry = retry_plan(self.plan, self.result)
        if not plan_size(retry):
            self.app.notify(self._t("bulk.nothing"), markup=False)
            return
        retry.summary = self._t("bulk.retry", summary=self.plan.summary)
        self.dismiss(None)
        self.papp.start_preview(retry)

    def action_back(self) -> None:
        self.dismiss(None)


def parse_day(text: str) -> date | None:
    """dd.mm.yyyy (or dd.mm.yy: 31.3.27 is 2027) or yyyy-mm-dd; raises ValueError."""
    text = text.strip()
    if "." in text:
        d, m, y = text.split(".")
        year = int(y)
        if len(y.strip()) <= 2:
            year += 2000  # expiry dates lie ahead: a two-digit year means this century
        return date(year, int(m), int(d))
    return date.fromisoformat(text)
