"""Every key binding of the app as data: an id, default keys, the action and its label.

The UI turns these into Textual ``Binding`` objects (``partner_tui.widgets.keys``); a config
file can remap any binding by id (``App.set_keymap({"clients.search": "ctrl+f"})``).
Labels are bokmål and English; key names are Textual's (``question_mark``, ``slash``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BINDINGS", "BindingSpec", "bindings_for"]


@dataclass(frozen=True, slots=True)
class BindingSpec:
    id: str
    keys: str  # comma-separated Textual key names
    action: str
    nb: str
    en: str
    show: bool = True
    priority: bool = False

    @property
    def scope(self) -> str:
        return self.id.split(".", 1)[0]

    def label(self, language: str) -> str:
        return self.en if language == "en" else self.nb


def _search_keys(scope: str) -> tuple[BindingSpec, BindingSpec]:
    """``/`` into a screen's search field and Enter out of it to its table; priority keys,
    so keys in the same burst follow the focus (``partner_tui.screens.base.SearchKeys``)."""
    return (
        BindingSpec(f"{scope}.search", "slash", "focus_search", "Søk", "Search", priority=True),
        BindingSpec(
            f"{scope}.search_done",
            "enter",
            "leave_search",
            "Til tabellen",
            "To the table",
            show=False,
            priority=True,
        ),
    )


BINDINGS: tuple[BindingSpec, ...] = (
    # app-wide
    # 1 and 2 are shown in the title bar's screen tabs, so the footer leaves them out. The
    # screen keys have priority (the app runs them before it routes the next key, see
    # PartnerApp.action_switch_mode); in a text field or a dialog they are not taken.
    BindingSpec(
        "app.dashboard",
        "1",
        "app.switch_mode('dashboard')",
        "Oversikt",
        "Dashboard",
        show=False,
        priority=True,
    ),
    BindingSpec(
        "app.clients",
        "2",
        "app.switch_mode('clients')",
        "Klienter",
        "Clients",
        show=False,
        priority=True,
    ),
    BindingSpec(
        "app.access",
        "3",
        "app.switch_mode('access')",
        "Tilgang",
        "Access",
        show=False,
        priority=True,
    ),
    BindingSpec(
        "app.pending",
        "7",
        "app.switch_mode('pending')",
        "Ventende",
        "Pending",
        show=False,
        priority=True,
    ),
    BindingSpec("app.help", "question_mark", "app.help", "Hjelp", "Help"),
    BindingSpec("app.sync", "r", "app.sync", "Synk", "Sync"),
    BindingSpec("app.quit", "q", "app.quit", "Avslutt", "Quit"),
    BindingSpec(
        "app.palette",
        "ctrl+p",
        "app.command_palette",
        "Kommandoer",
        "Commands",
        show=False,
        priority=True,
    ),
    # dashboard
    BindingSpec(
        "dashboard.prev_month",
        "left_square_bracket,left",
        "prev_month",
        "Forrige mnd",
        "Prev month",
    ),
    BindingSpec(
        "dashboard.next_month",
        "right_square_bracket,right",
        "next_month",
        "Neste mnd",
        "Next month",
    ),
    BindingSpec(
        "dashboard.last_month",
        "t",
        "last_complete_month",
        "Siste hele mnd",
        "Last full month",
        show=False,
    ),
    BindingSpec("dashboard.filter", "f", "filter", "Filter", "Filter"),
    BindingSpec("dashboard.clear", "escape", "clear_filter", "Nullstill", "Clear"),
    # clients (partner list)
    *_search_keys("clients"),
    BindingSpec("clients.filter", "f", "filter", "Filter", "Filter"),
    BindingSpec("clients.clear", "escape", "clear_filter", "Nullstill", "Clear"),
    # access administration (the bulk pipeline)
    # the footer shows these in this order: the everyday actions first
    BindingSpec("access.pick", "f", "pick", "Finn", "Find"),
    BindingSpec("access.view", "v", "toggle_view", "Bruker/klient", "User/client"),
    *_search_keys("access"),
    BindingSpec("access.grant", "n", "grant", "Gi tilgang", "Grant"),
    BindingSpec("access.revoke", "x", "revoke", "Fjern", "Revoke"),
    BindingSpec("access.undo", "u", "undo", "Angre", "Undo"),
    BindingSpec("access.offboard", "O", "offboard", "Avslutt bruker", "Offboard"),
    BindingSpec("access.level", "l", "level", "Nivå", "Level"),
    BindingSpec("access.role", "o", "role", "Rolle", "Role"),
    BindingSpec("access.expiry", "d", "expiry", "Utløp", "Expiry"),
    BindingSpec("access.copy", "c", "copy", "Kopier fra", "Copy from"),
    BindingSpec("access.altinn", "t", "altinn", "Altinn-tagg", "Altinn tag"),
    BindingSpec("access.export", "e", "export", "Eksporter", "Export"),
    BindingSpec("access.audit", "L", "audit", "Logg", "Log", priority=True),
    BindingSpec("access.templates", "M", "templates", "Maler", "Templates", priority=True),
    BindingSpec("access.clear", "escape", "clear_filter", "Nullstill", "Clear", show=False),
    BindingSpec("templates.new", "n", "new", "Ny mal", "New template"),
    BindingSpec("templates.edit", "e,enter", "edit", "Endre", "Edit"),
    BindingSpec("templates.delete", "x", "delete", "Slett", "Delete"),
    BindingSpec("templates.back", "escape", "back", "Tilbake", "Back"),
    *_search_keys("audit"),
    BindingSpec("audit.back", "escape", "back", "Tilbake", "Back"),
    BindingSpec("handover.assign", "h", "assign", "Ny ansvarlig", "New ansvarlig"),
    BindingSpec("handover.all", "A", "assign_all", "Samme for alle", "Same for all"),
    BindingSpec("handover.preview", "p", "preview", "Forhåndsvis", "Preview"),
    BindingSpec("handover.back", "escape", "back", "Avbryt", "Cancel"),
    BindingSpec("preview.confirm", "enter", "confirm", "Bekreft", "Confirm"),
    BindingSpec("preview.back", "escape", "back", "Tilbake", "Back"),
    BindingSpec("results.retry", "R", "retry", "Prøv feilede igjen", "Retry failed"),
    BindingSpec("results.close", "escape,enter", "back", "Lukk", "Close"),
    # not enter: the preview's Enter opens this box, so a double Enter would apply the change
    BindingSpec("confirm.yes", "y,j", "yes", "Ja", "Yes"),
    BindingSpec("confirm.no", "escape", "no", "Nei", "No"),
    BindingSpec("pending.dismiss", "d", "dismiss_item", "Fjern avvist", "Dismiss rejected"),
    BindingSpec("pending.push", "p", "push", "Send nå", "Push now"),
    # every virtual table
    BindingSpec("table.down", "j,down", "cursor_down", "Ned", "Down", show=False),
    BindingSpec("table.up", "k,up", "cursor_up", "Opp", "Up", show=False),
    BindingSpec("table.page_down", "pagedown", "page_down", "Side ned", "Page down", show=False),
    BindingSpec("table.page_up", "pageup", "page_up", "Side opp", "Page up", show=False),
    BindingSpec("table.top", "g,home", "first", "Første", "First", show=False),
    BindingSpec("table.bottom", "G,end", "last", "Siste", "Last", show=False),
    BindingSpec("table.toggle", "space", "toggle_select", "Velg", "Select"),
    BindingSpec("table.select_all", "a", "select_all", "Velg alle", "Select all"),
    BindingSpec("table.open", "enter", "open", "Åpne", "Open"),
    BindingSpec("table.sort", "s", "cycle_sort", "Sorter", "Sort"),
    BindingSpec("table.reverse", "S", "reverse_sort", "Snu sortering", "Reverse sort", show=False),
    # modals
    BindingSpec("help.close", "escape,question_mark,q", "close", "Lukk", "Close"),
    BindingSpec("modal.cancel", "escape", "cancel", "Avbryt", "Cancel"),
    BindingSpec("pick.down", "down", "list_down", "Neste", "Next", show=False),
    BindingSpec("pick.up", "up", "list_up", "Forrige", "Previous", show=False),
)


def bindings_for(scope: str) -> list[BindingSpec]:
    """The bindings of one scope (``app``, ``dashboard``, ``clients``, ``table``, ...)."""
    return [b for b in BINDINGS if b.scope == scope]
