"""One client: its facts, groups and every user's access (opened with ``enter``)."""

from __future__ import annotations

from datetime import date

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from partner_tui.core.formatting import format_date
from partner_tui.core.i18n import t
from partner_tui.core.queries import ClientDetail
from partner_tui.core.safe_text import plain
from partner_tui.widgets.keys import install_bindings


class ClientDetailModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ClientDetailModal {
        align: center middle;
    }
    ClientDetailModal > VerticalScroll {
        width: 90;
        max-height: 80%;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 1 2;
    }
    ClientDetailModal .section {
        margin-top: 1;
    }
    """

    def __init__(self, detail: ClientDetail, language: str = "nb") -> None:
        super().__init__()
        install_bindings(self, "modal", language)
        self.detail = detail
        self.language = language

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.language, **values)

    def compose(self) -> ComposeResult:
        d, lang = self.detail, self.language
        head = Text(end="")
        head.append_text(plain(d.name, style="bold"))
        head.append("\n" + self._t("col.orgnr") + ": ")
        head.append_text(plain(d.orgnr))
        head.append(f"\n{self._t('detail.payroll')}: ")
        head.append(self._t("detail.yes" if d.payroll_enabled else "detail.no"))
        if d.payout_day:
            head.append(f" ({d.payout_day}.)")
        head.append(f"\n{self._t('col.altinn')}: ")
        head.append(self._t("filter.altinn_yes" if d.uses_partner_altinn else "filter.altinn_no"))
        if d.status != "active":
            head.append(f"\n{self._t('col.status')}: ")
            shown = self._t(f"status.{d.status}")  # (a status not known here: as it is)
            head.append_text(plain(d.status if shown == f"status.{d.status}" else shown))
        head.append(f"\n{self._t('col.groups')}: ")
        head.append_text(plain(", ".join(d.groups) or "–"))

        # Headers as a plain first row: Textual's Static dropped rich's header line here.
        table = Table(expand=True, show_header=False, box=None, padding=(0, 2, 0, 0))
        for _ in range(4):
            table.add_column()
        table.add_row(
            *(
                plain(self._t(h))
                for h in ("detail.user", "filter.role", "detail.level", "detail.valid")
            ),
            style="bold underline",
        )
        for g in d.grants:
            source = self._t("detail.manual" if g.role_source == "manual" else "detail.auto")
            until = ""
            if g.valid_until:
                try:
                    until = self._t(
                        "detail.until", date=format_date(date.fromisoformat(g.valid_until), lang)
                    )
                except ValueError:
                    until = g.valid_until
            table.add_row(
                plain(g.user_name),
                plain(t(f"role.{g.role}", lang)),
                plain(f"{t(f'access.level.{g.access_level}', lang)}, {source}"),
                plain(until),
            )
        if not d.grants:
            table.add_row(plain(self._t("detail.no_access")), "", "", "")
        with VerticalScroll():
            yield Static(head)
            yield Static(plain(self._t("detail.access"), style="bold"), classes="section")
            yield Static(table)
            yield Static(plain(self._t("detail.close"), style="dim"))

    def action_cancel(self) -> None:
        self.dismiss(None)
