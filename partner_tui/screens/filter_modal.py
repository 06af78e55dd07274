"""A small modal with the filter pickers (group, accountant, role, and Altinn for the list).

Changes apply live (the screen behind updates as you pick); ``esc`` or "Lukk" closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select

from partner_tui.core.i18n import t
from partner_tui.core.queries import Choice
from partner_tui.core.safe_text import plain
from partner_tui.widgets.keys import install_bindings


@dataclass(frozen=True, slots=True)
class FilterChoice:
    group_id: int | None = None
    user_id: int | None = None
    role: str | None = None
    altinn: bool | None = None


class FilterModal(ModalScreen[FilterChoice]):
    DEFAULT_CSS = """
    FilterModal {
        align: center middle;
    }
    FilterModal > Vertical {
        width: 64;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 1 2;
    }
    FilterModal Label {
        margin-top: 1;
        text-style: bold;
    }
    FilterModal .hint {
        color: $text-muted;
        text-style: none;
        margin-top: 0;
    }
    FilterModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    FilterModal Button {
        margin-left: 1;
    }
    """

    def __init__(
        self,
        current: FilterChoice,
        users: Sequence[Choice],
        groups: Sequence[Choice],
        *,
        on_change: Callable[[FilterChoice], None],
        with_altinn: bool = False,
        language: str = "nb",
    ) -> None:
        super().__init__()
        install_bindings(self, "modal", language)
        self.choice = current
        self.users, self.groups = list(users), list(groups)
        self.on_change = on_change
        self.with_altinn = with_altinn
        self.language = language

    def _t(self, key: str) -> str:
        return t(key, self.language)

    def _select(
        self, options: list[tuple[Any, Any]], value: Any, label: str, wid: str
    ) -> Select[Any]:
        return Select(
            options,
            prompt=f"{label}: {self._t('filter.all')}",
            allow_blank=True,
            value=Select.NULL if value is None else value,
            id=wid,
        )

    def compose(self) -> ComposeResult:
        lang = self.language
        with Vertical():
            yield Label(plain(self._t("filter.title"), style="bold"))
            yield Label(self._t("filter.group"))
            yield self._select(
                [(plain(f"{g.name} ({g.count})"), g.id) for g in self.groups],
                self.choice.group_id,
                self._t("filter.group"),
                "pick-group",
            )
            yield Label(self._t("filter.user"))
            yield self._select(
                [(plain(f"{u.name} ({u.count})"), u.id) for u in self.users],
                self.choice.user_id,
                self._t("filter.user"),
                "pick-user",
            )
            yield Label(self._t("filter.role"))
            yield self._select(
                [
                    (t("role.ansvarlig", lang), "ansvarlig"),
                    (t("role.medarbeider", lang), "medarbeider"),
                ],
                self.choice.role,
                self._t("filter.role"),
                "pick-role",
            )
            yield Label(self._t("filter.role_hint"), classes="hint")
            if self.with_altinn:
                yield Label(self._t("filter.altinn"))
                yield self._select(
                    [(self._t("filter.altinn_yes"), True), (self._t("filter.altinn_no"), False)],
                    self.choice.altinn,
                    self._t("filter.altinn"),
                    "pick-altinn",
                )
            with Horizontal():
                yield Button(self._t("filter.reset"), id="reset")
                yield Button(self._t("modal.close"), variant="primary", id="close")

    def on_select_changed(self, event: Select.Changed) -> None:
        value: Any = None if event.value is Select.NULL else event.value
        field = {
            "pick-group": "group_id",
            "pick-user": "user_id",
            "pick-role": "role",
            "pick-altinn": "altinn",
        }.get(event.select.id or "")
        if field is None:
            return
        new = replace(self.choice, **{field: value})
        if new != self.choice:
            self.choice = new
            self.on_change(new)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reset":
            for select in self.query(Select):
                select.clear()
            self.choice = FilterChoice()
            self.on_change(self.choice)
        else:
            self.dismiss(self.choice)

    def action_cancel(self) -> None:
        self.dismiss(self.choice)
