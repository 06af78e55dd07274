"""UI strings in bokmål (default) and English. Domain terms (a-melding, skattekort) stay
Norwegian in both. ``t(key, language, **values)`` formats with ``str.format``."""

from __future__ import annotations

__all__ = ["STRINGS", "t"]

STRINGS: dict[str, tuple[str, str]] = {
    # (nb, en)
    "app.title": ("Partneradmin", "Partner admin"),
    "screen.dashboard": ("Oversikt", "Dashboard"),
    "screen.clients": ("Klienter", "Clients"),
    "screen.help": ("Hjelp", "Help"),
    "app.commands": ("Kommandoer", "Commands"),
    # status line
    "status.online": ("tilkoblet", "online"),
    "status.offline": ("frakoblet", "offline"),
    "status.syncing": ("synkroniserer …", "syncing …"),
    "status.synced_ago": ("synkronisert {age}", "synced {age}"),
    "status.offline_since": ("sist synkronisert {when}", "last synced {when}"),
    "status.never_synced": ("aldri synkronisert", "never synced"),
    "status.pending_one": ("1 ventende endring", "1 pending change"),
    "status.pending_many": ("{n} ventende endringer", "{n} pending changes"),
    "status.rejected": ("{n} avvist av serveren", "{n} rejected by the server"),
    "status.selected": ("{n} valgt", "{n} selected"),
    "status.selected_hidden": (
        "{n} valgt ({m} skjult av filter)", "{n} selected ({m} hidden by filter)",
    ),
    # sync
    "sync.done": ("Synkronisert: {n} endringer på {s} s", "Synced: {n} changes in {s} s"),
    "sync.done_full": (
        "Full synkronisering: {n} rader på {s} s", "Full sync: {n} rows in {s} s",
    ),
    "sync.failed": ("Synkronisering feilet: {detail}", "Sync failed: {detail}"),
    "sync.unreachable": (
        "Får ikke kontakt med serveren: {detail}", "Cannot reach the server: {detail}",
    ),
    "error.cache": ("Kunne ikke lese den lokale cachen", "Could not read the local cache"),
    "sync.busy": ("Synkronisering pågår allerede", "A sync is already running"),
    "sync.offline": (
        "Frakoblet: ingen server er satt opp. Kjør `partner-tui sync --api URL`.",
        "Offline: no server configured. Run `partner-tui sync --api URL`.",
    ),
    "empty.title": ("Ingen lokale data ennå", "No local data yet"),
    "empty.body": (
        "Ingen lokale data ennå. Kjør `partner-tui demo` eller `partner-tui sync --api URL`.",
        "No local data yet. Run `partner-tui demo` or `partner-tui sync --api URL`.",
    ),
    "empty.waiting": (
        "Henter data fra serveren for første gang …", "Fetching data from the server …",
    ),
    # filters
    "filter.all": ("alle", "all"),
    "filter.group": ("Gruppe", "Group"),
    "filter.user": ("Regnskapsfører", "Accountant"),
    "filter.role": ("Rolle", "Role"),
    "filter.altinn": ("Altinn", "Altinn"),
    "filter.altinn_yes": ("bruker partnerens Altinn", "uses the partner's Altinn"),
    "filter.altinn_no": ("egen Altinn", "own Altinn"),
    "filter.title": ("Filter", "Filter"),
    "filter.apply": ("Bruk", "Apply"),
    "filter.reset": ("Nullstill", "Reset"),
    "filter.cancel": ("Avbryt", "Cancel"),
    "filter.me": ("meg", "me"),
    "filter.role_hint": (
        "Rollen gjelder valgt regnskapsfører, ellers deg selv.",
        "The role applies to the chosen accountant, else to you.",
    ),
    "modal.close": ("Lukk", "Close"),
    "role.ansvarlig": ("ansvarlig", "ansvarlig"),
    "role.medarbeider": ("medarbeider", "medarbeider"),
    # dashboard
    "dash.heading": ("Nøkkeltall for {month}", "Key figures for {month}"),
    "dash.hint": (
        "[ ] forrige/neste måned · f filter · esc nullstill filter",
        "[ ] previous/next month · f filter · esc clear filter",
    ),
    "fig.payroll_clients": ("Lønnsklienter", "Payroll clients"),
    "fig.active_employees": ("Aktive ansatte", "Active employees"),
    "fig.payslips_sent": ("Lønnsslipper sendt", "Payslips sent"),
    "fig.claims": ("Reise og utlegg", "Travel & expenses"),
    "fig.absences": ("Fravær", "Absences"),
    "fig.automation": ("Automatiseringsgrad", "Degree of automation"),
    "fig.automation_detail": ("{a} av {b} steg", "{a} of {b} steps"),
    "fig.amelding": ("A-meldinger feilet", "A-meldinger failed"),
    "fig.amelding_value": ("{r} avvist, {m} mangler", "{r} rejected, {m} missing"),
    "fig.amelding_detail_before": (
        "for {month}\nfrist {date} (ikke passert)", "for {month}\ndue {date} (not yet)",
    ),
    "fig.amelding_detail_after": ("for {month}\nfrist {date}", "for {month}\ndue {date}"),
    "fig.salary": ("Utbetalt lønn", "Total salary paid"),
    "fig.salary_unit": ("kr", "NOK"),
    "fig.loading": ("…", "…"),
    # clients
    "clients.count": ("{n} av {m} klienter", "{n} of {m} clients"),
    "clients.search_placeholder": (
        "/ søk i orgnr, navn, grupper, brukere", "/ search orgnr, name, groups, users",
    ),
    "col.orgnr": ("Orgnr", "Org no"),
    "col.name": ("Navn", "Name"),
    "col.groups": ("Grupper", "Groups"),
    "col.altinn": ("Altinn", "Altinn"),
    "col.users": (
        "Brukere (A = ansvarlig, M = medarbeider)", "Users (A = ansvarlig, M = medarbeider)",
    ),
    "col.status": ("Status", "Status"),
    "altinn.tag": ("partner", "partner"),
    "status.archived": ("arkivert", "archived"),
    "clients.empty": ("Ingen klienter passer filteret", "No clients match the filter"),
    # detail
    "detail.title": ("Klient {orgnr}", "Client {orgnr}"),
    "detail.payroll": ("Lønn", "Payroll"),
    "detail.yes": ("ja", "yes"),
    "detail.no": ("nei", "no"),
    "detail.access": ("Tilganger", "Access"),
    "detail.no_access": ("ingen brukere har tilgang", "no users have access"),
    "detail.manual": ("manuell", "manual"),
    "detail.auto": ("automatisk", "automatic"),
    "detail.until": ("til {date}", "until {date}"),
    "detail.user": ("Bruker", "User"),
    "detail.level": ("Tilgang", "Access"),
    "detail.valid": ("Gyldig", "Valid"),
    "detail.close": ("esc lukker", "esc closes"),
    # help
    "help.title": ("Taster på denne skjermen", "Keys on this screen"),
    "help.key": ("Tast", "Key"),
    "help.action": ("Handling", "Action"),
    "help.global": ("Overalt", "Everywhere"),
    "help.close": ("esc / ? lukker", "esc / ? closes"),
}


def t(key: str, language: str = "nb", **values: object) -> str:
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if language == "en" else pair[0]
    return text.format(**values) if values else text
