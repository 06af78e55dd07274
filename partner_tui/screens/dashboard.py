"""The dashboard: the eight figures of DESIGN.md §3 for one month over the filtered clients.

The app's first screen: it imports nothing heavy (no pydantic: ``figures.Figures`` and
``FigureFilter`` are plain dataclasses) and shows its figures as soon as the app's start facts
are in, before the client list is built.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import Static

from partner_api.norwegian_calendar import amelding_deadline, last_complete_month, month_add
from partner_tui.core.figures import FigureFilter, Figures, read_figures
from partner_tui.core.formatting import (
    format_amount,
    format_date,
    format_int,
    format_month,
    format_percent,
)
from partner_tui.core.safe_text import plain
from partner_tui.screens.base import PartnerScreen
from partner_tui.widgets.figure_card import FigureCard

FIGURES = (
    "payroll_clients",
    "active_employees",
    "payslips_sent",
    "claims",
    "absences",
    "automation",
    "amelding",
    "salary",
)


@dataclass(frozen=True, slots=True)
class _Query:
    month: str
    flt: FigureFilter


class DashboardScreen(PartnerScreen):
    MODE = "dashboard"
    BINDING_SCOPE = "dashboard"

    class FiguresReady(Message):
        def __init__(self, query: _Query, figures: Figures) -> None:
            super().__init__()
            self.query, self.figures = query, figures

    def __init__(self) -> None:
        super().__init__()
        self.month = last_complete_month(self.papp.today)
        self.flt = FigureFilter()
        self.figures: Figures | None = None
        self._figures_facts = -1  # the app's facts_version the figures were asked for
        self._shown: tuple[object, ...] = ()  # what _show_heading drew last

    def compose(self) -> ComposeResult:
        cards = [FigureCard(self._label(name), id=f"fig-{name}") for name in FIGURES]
        yield from self.compose_frame(
            [
                Vertical(
                    Static(id="dash-heading"),
                    Static(id="dash-filters"),
                    Static(id="dash-empty"),
                    Grid(*cards, id="dash-grid"),
                    Static(plain(self.t("dash.hint")), id="dash-hint"),
                    id="dash-body",
                )
            ]
        )

    def _label(self, name: str) -> str:
        if name == "automation":
            return self.t("fig.automation")
        if name == "amelding":
            return self.t("fig.amelding")
        if name == "salary":
            return self.t("fig.salary")
        return self.t(f"fig.{name}")

    def on_mount(self) -> None:
        # The app's start-up read (facts, opening figures) ran while Textual started: taken
        # now, the figures are in this screen's first frame (the app calls data_changed).
        self.papp.take_start_read()
        if getattr(self, "_seen_version", -1) != self.papp.data_version:
            self._seen_version = self.papp.data_version
            self.data_changed()
        self._show_heading()

    def on_resize(self) -> None:
        # Under 100 columns: two columns of compact cards (label and value only).
        self.set_class(self.size.width < 100, "-narrow")

    # ---- data ---------------------------------------------------------------------------

    def data_changed(self) -> None:
        self._show_heading()
        # Only the cache's facts (a sync, a reload) change the figures; the client list
        # arriving in the background does not: no query and nothing redrawn for it.
        if self.papp.facts_version != self._figures_facts:
            self.load_figures()

    def load_figures(self) -> None:
        if not self.papp.has_data:
            return
        self._figures_facts = self.papp.facts_version
        query, caller_id = _Query(self.month, self.flt), self.papp.effective_caller_id
        opening = self.papp.opening_figures(query.month, query.flt, caller_id)
        if opening is not None:  # read at start-up, alongside the facts: no second trip
            self._figures_ready(query, opening)
            return
        self._run_query(query, caller_id)

    @work(thread=True, exclusive=True, group="figures", exit_on_error=False)
    def _run_query(self, query: _Query, caller_id: int) -> None:
        with closing(self.papp.cache.raw()) as conn:
            figures = read_figures(conn, query.month, query.flt, caller_id, self.papp.today)
        self.post_message(self.FiguresReady(query, figures))

    def on_dashboard_screen_figures_ready(self, message: FiguresReady) -> None:
        self._figures_ready(message.query, message.figures)

    def _figures_ready(self, query: _Query, figures: Figures) -> None:
        if query != _Query(self.month, self.flt):
            return  # an answer to an older question
        first = self.figures is None
        if not first and figures == self.figures:
            return  # the same figures (e.g. a sync that changed nothing): nothing to redraw
        self.figures = figures
        self._show_figures(figures)
        if first:
            self._show_heading()
            self.papp.figures_shown()

    # ---- drawing ------------------------------------------------------------------------

    def _filter_summary(self) -> str:
        every = self.t("filter.all")
        group = user = every  # names are looked up only for a filter that is set
        if self.flt.group_id is not None:
            group = next((g.name for g in self.papp.groups if g.id == self.flt.group_id), every)
        if self.flt.user_id is not None:
            user = next((u.name for u in self.papp.users if u.id == self.flt.user_id), every)
        role = self.t(f"role.{self.flt.role}") if self.flt.role else every
        if self.flt.role and self.flt.user_id is None:
            role += f" ({self.t('filter.me')})"
        return (
            f"{self.t('filter.group')}: {group}  ·  {self.t('filter.user')}: {user}"
            f"  ·  {self.t('filter.role')}: {role}"
        )

    def _show_heading(self) -> None:
        lang = self.papp.language
        heading = self.t("dash.heading", month=format_month(self.month, lang))
        summary = self._filter_summary()
        message = self.papp.empty_message()
        shown = (heading, summary, message, self.figures is not None)
        if shown == self._shown:
            return  # unchanged: an idle screen sends nothing to the terminal
        self._shown = shown
        self.query_one("#dash-heading", Static).update(plain(heading, style="bold"))
        self.query_one("#dash-filters", Static).update(plain(summary))
        empty = self.query_one("#dash-empty", Static)
        empty.display = bool(message)
        for wid in ("#dash-hint", "#dash-filters"):
            self.query_one(wid).display = not message
        # The cards appear with their first figures, never with placeholders.
        self.query_one("#dash-grid").display = not message and self.figures is not None
        if message:
            empty.update(plain(message))

    def _show_figures(self, f: Figures) -> None:
        lang = self.papp.language

        def card(name: str) -> FigureCard:
            return self.query_one(f"#fig-{name}", FigureCard)

        for name in ("payroll_clients", "active_employees", "payslips_sent", "claims", "absences"):
            card(name).set(format_int(getattr(f, name), lang))
        card("automation").set(
            format_percent(f.automation_percent, lang),
            detail=self.t(
                "fig.automation_detail",
                a=format_int(f.automation_auto_steps, lang),
                b=format_int(f.automation_total_steps, lang),
            ),
        )
        deadline = amelding_deadline(month_add(f.month, -1))
        detail_key = (
            "fig.amelding_detail_after"
            if self.papp.today > deadline
            else "fig.amelding_detail_before"
        )
        rejected, missing = f.amelding_rejected_last_month, f.amelding_missing_last_month
        card("amelding").set(
            self.t("fig.amelding_value", r=format_int(rejected, lang), m=format_int(missing, lang)),
            detail=self.t(
                detail_key,
                date=format_date(deadline, lang),
                month=format_month(month_add(f.month, -1), lang),
            ),
            alert=bool(rejected or missing),
        )
        card("salary").set(format_amount(f.salary_paid_ore, lang), unit=self.t("fig.salary_unit"))

    def _refresh(self) -> None:
        self._show_heading()
        self.load_figures()

    # ---- actions ------------------------------------------------------------------------

    def action_prev_month(self) -> None:
        first = getattr(self.papp, "first_month", None)
        if first is not None and self.month <= first:
            self.notify(self.t("dash.no_older_month"), severity="information")
            return  # before the first month there is no data, only alarming zeros
        self.month = month_add(self.month, -1)
        self._refresh()

    def action_next_month(self) -> None:
        self.month = month_add(self.month, 1)
        self._refresh()

    def action_last_complete_month(self) -> None:
        self.month = last_complete_month(self.papp.today)
        self._refresh()

    def set_filter(self, flt: FigureFilter) -> None:
        if flt != self.flt:
            self.flt = flt
            self._refresh()

    def action_clear_filter(self) -> None:
        self.set_filter(FigureFilter())

    def action_filter(self) -> None:
        from partner_tui.screens.filter_modal import FilterChoice, FilterModal

        def changed(choice: FilterChoice) -> None:
            self.set_filter(
                FigureFilter(
                    group_id=choice.group_id,
                    user_id=choice.user_id,
                    role=choice.role,
                )
            )

        current = FilterChoice(self.flt.group_id, self.flt.user_id, self.flt.role)
        self.app.push_screen(
            FilterModal(
                current,
                self.papp.users,
                self.papp.groups,
                on_change=changed,
                language=self.papp.language,
            )
        )
