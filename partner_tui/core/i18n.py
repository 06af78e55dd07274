"""UI strings in bokmål (default) and English. Domain terms (a-melding, skattekort) stay
Norwegian in both. ``t(key, language, **values)`` formats with ``str.format``."""

from __future__ import annotations

__all__ = ["STRINGS", "problem_text", "t"]

STRINGS: dict[str, tuple[str, str]] = {
    # (nb, en)
    "app.title": ("Partneradmin", "Partner admin"),
    "screen.dashboard": ("Oversikt", "Dashboard"),
    "screen.clients": ("Klienter", "Clients"),
    "screen.help": ("Hjelp", "Help"),
    "screen.access": ("Tilgang", "Access"),
    "screen.pending": ("Ventende", "Pending"),
    # access screen
    "access.user_view": ("Bruker: {name}", "User: {name}"),
    "access.client_view": ("Klient: {name}", "Client: {name}"),
    "access.count_user": ("{n} av {m} klienter", "{n} of {m} clients"),
    "access.count_client": ("{n} av {m} brukere", "{n} of {m} users"),
    "access.empty": (
        "Ingen rader passer søket (esc nullstiller)",
        "No rows match the search (esc clears)",
    ),
    "access.empty_none": ("Ingen tilganger", "No access"),
    "access.none_picked": (
        "Velg en bruker med f (v bytter til klient)",
        "Pick a user with f (v switches to client)",
    ),
    "access.none_picked_client": (
        "Velg en klient med f (v bytter til bruker)",
        "Pick a client with f (v switches to user)",
    ),
    "access.search_placeholder": ("Søk (/)", "Search (/)"),
    "pick.search_placeholder": (
        "Skriv for å søke · ↑↓ velger · enter tar den markerte",
        "Type to search · ↑↓ choose · enter takes the highlighted one",
    ),
    "access.nothing_selected": (
        "Ingen valgt: velg med mellomrom eller a",
        "Nothing selected: select with space or a",
    ),
    "access.none_granted": (
        "Ingen av de valgte har tilgang å endre eller fjerne",
        "None of the chosen rows has access to change or revoke",
    ),
    "access.no_undo": ("Ingen masseendring å angre", "No bulk change to undo"),
    "access.pick_user": ("Velg bruker", "Pick a user"),
    "access.pick_client": ("Velg klient", "Pick a client"),
    "access.pick_level": ("Velg tilgangsnivå eller mal", "Pick an access level or template"),
    "access.pick_role": ("Velg rolle", "Pick a role"),
    "access.role_auto": ("automatisk (fjern overstyring)", "automatic (clear override)"),
    "access.expiry_prompt": (
        "Siste dag med tilgang (dd.mm.åååå, tomt = ingen utløp)",
        "Last day of access (dd.mm.yyyy, empty = no expiry)",
    ),
    "access.bad_date": ("Ugyldig dato: {text}", "Invalid date: {text}"),
    "access.grant_label": ("Gi tilgang", "Grant"),
    "access.offboard_label": ("Avslutt bruker", "Offboard"),
    "access.altinn_label": ("Altinn-tagg (partnerens Altinn)", "Altinn tag (the partner's Altinn)"),
    "access.offboard_needs_user": (
        "Avslutt bruker: velg en bruker først (v bytter til brukervisning)",
        "Offboard: pick a user first (v switches to the user view)",
    ),
    # offboarding: handover of the ansvarlig role
    "handover.title": (
        "Avslutt {name}: ansvarlig på {n} klienter – velg ny ansvarlig",
        "Offboard {name}: ansvarlig on {n} clients – choose the new ansvarlig",
    ),
    "handover.col_to": ("Ny ansvarlig", "New ansvarlig"),
    "handover.missing": ("{n} klienter mangler ny ansvarlig", "{n} clients lack a new ansvarlig"),
    "handover.ready": (
        "Alle klienter har ny ansvarlig – p forhåndsviser",
        "Every client has one – p previews",
    ),
    "handover.pick": ("Ny ansvarlig for {n} klienter", "New ansvarlig for {n} clients"),
    "handover.pick_one": ("Ny ansvarlig for {client}", "New ansvarlig for {client}"),
    "handover.hint": (
        "h/enter: ny ansvarlig for valgte (mellomrom) · A: samme for alle · p: forhåndsvis · "
        "esc: avbryt. Ingenting endres før du bekrefter.",
        "h/enter: new ansvarlig for the selected (space) · A: same for all · p: preview · "
        "esc: cancel. Nothing changes until you confirm.",
    ),
    # access templates
    "templates.title": ("Tilgangsmaler", "Access templates"),
    "templates.col.name": ("Mal", "Template"),
    "templates.no_role": ("automatisk regel", "automatic rule"),
    "templates.hint": (
        "n: ny mal · e/enter: endre · x: slett · esc: tilbake. Tilganger gitt med en mal "
        "beholder sine verdier når malen endres.",
        "n: new · e/enter: edit · x: delete · esc: back. Grants made from a template keep "
        "their values when it changes.",
    ),
    "templates.name_prompt": ("Navn på malen", "Template name"),
    "templates.bad_name": ("Navnet må ha 1–100 tegn", "The name must have 1–100 characters"),
    "templates.delete_confirm": ("Slette malen «{name}»?", "Delete the template “{name}”?"),
    "templates.saved": ("Lagret: {summary}", "Saved: {summary}"),
    # the audit log
    "audit.title": ("Logg: {name}", "Log: {name}"),
    "audit.all": ("alle endringer", "all changes"),
    "audit.count": ("{n} hendelser (nyeste først)", "{n} events (newest first)"),
    "audit.count_1": ("1 hendelse", "1 event"),
    "audit.search_placeholder": ("Søk i loggen (/)", "Search the log (/)"),
    "audit.col.at": ("Tid", "When"),
    "audit.col.actor": ("Utført av", "By"),
    "audit.col.action": ("Hendelse", "Event"),
    "audit.col.subject": ("Gjelder", "About"),
    "audit.col.change": ("Endring", "Change"),
    "audit.col.request": ("Forespørsel", "Request"),
    "audit.created": ("ny: {what}", "new: {what}"),
    "audit.removed": ("fjernet: {what}", "removed: {what}"),
    "audit.f.level": ("nivå", "level"),
    "audit.f.role": ("rolle", "role"),
    "audit.f.source": ("rollekilde", "role source"),
    "audit.f.until": ("utløp", "expiry"),
    "audit.f.altinn": ("Altinn-tagg", "Altinn tag"),
    "audit.f.name": ("navn", "name"),
    "audit.a.access_grant.created": ("tilgang gitt", "access granted"),
    "audit.a.access_grant.updated": ("tilgang endret", "access changed"),
    "audit.a.access_grant.deleted": ("tilgang fjernet", "access revoked"),
    "audit.a.access_grant.expired": ("tilgang utløpt", "access expired"),
    "audit.a.client.altinn_tag": ("Altinn-tagg", "Altinn tag"),
    "audit.a.access_template.created": ("mal opprettet", "template created"),
    "audit.a.access_template.updated": ("mal endret", "template changed"),
    "audit.a.access_template.deleted": ("mal slettet", "template deleted"),
    "audit.a.user.offboarded": ("bruker avsluttet", "user offboarded"),
    "audit.a.user.deactivated": ("bruker deaktivert", "user deactivated"),
    # per-item reasons from the server, by problem type
    "problem.client-archived": (
        "Klienten er arkivert; tilgang kan ikke gis eller endres",
        "The client is archived; access cannot be given or changed",
    ),
    "problem.user-inactive": ("Brukeren er deaktivert", "The user is deactivated"),
    "problem.version-conflict": (
        "Endret av noen andre siden du så den – oppdater og prøv igjen",
        "Changed by someone else since you saw it – sync and try again",
    ),
    "problem.level-above-own": (
        "Du kan ikke gi et høyere tilgangsnivå enn ditt eget",
        "You cannot grant a level above your own",
    ),
    "problem.duplicate-item": (
        "Samme bruker og klient står flere ganger i endringen",
        "The same user and client appear more than once",
    ),
    "problem.access-level-required": (
        "Ny tilgang trenger et nivå eller en mal",
        "A new grant needs a level or a template",
    ),
    "problem.valid-until-in-past": ("Utløpsdatoen er passert", "The expiry date has passed"),
    "problem.no-source-grant": (
        "Brukeren det kopieres fra har ikke tilgang til klienten",
        "The user copied from has no access to this client",
    ),
    "problem.duplicate-template": (
        "Det finnes allerede en mal med det navnet",
        "A template with that name exists",
    ),
    "problem.not-found": ("Finnes ikke (slettet?)", "Not found (deleted?)"),
    "access.altinn_on": ("sett tagg", "set tag"),
    "access.altinn_off": ("fjern tagg", "clear tag"),
    "access.copy_from": ("Kopier tilgang fra", "Copy access from"),
    "access.template": ("mal: {name}", "template: {name}"),
    "access.level.read": ("les", "read"),
    "access.level.payroll": ("lønn", "payroll"),
    "access.level.full": ("full", "full"),
    "access.export_prompt": (
        "Lagre rapport som (.csv eller .xlsx)",
        "Save report as (.csv or .xlsx)",
    ),
    "access.export_all": (
        "Eksporter tilgangsrapport (alle)",
        "Export the access report (all)",
    ),
    "access.exported": ("Eksportert {n} rader til {path}", "Exported {n} rows to {path}"),
    "access.no_api": ("Krever tilkobling", "Needs a connection"),
    "col.user": ("Bruker", "User"),
    "col.client": ("Klient", "Client"),
    "col.email": ("E-post", "E-mail"),
    "col.level": ("Nivå", "Level"),
    "col.role": ("Rolle", "Role"),
    "col.source": ("Kilde", "Source"),
    "col.until": ("Utløper", "Expires"),
    "col.before": ("Før", "Before"),
    "col.after": ("Etter", "After"),
    "col.change": ("Endring", "Change"),
    "col.reason": ("Årsak", "Reason"),
    "col.summary": ("Endring", "Change"),
    "col.created": ("Lagt i kø", "Queued"),
    "col.attempts": ("Forsøk", "Attempts"),
    "bulk.preview_title": ("Forhåndsvisning: {summary}", "Preview: {summary}"),
    "bulk.totals": (
        "gi {grant}, endre {change}, uendret {unchanged}, fjern {revoke}",
        "grant {grant}, change {change}, unchanged {unchanged}, revoke {revoke}",
    ),
    "bulk.lowered_n": ("{n} får lavere nivå (øverst)", "{n} get a lower level (on top)"),
    "change.lower": ("senk", "lower"),
    "bulk.failed_n": ("feiler {n}", "fail {n}"),
    "bulk.exact": ("(fra serveren)", "(from the server)"),
    "bulk.local": ("(fra cachen, frakoblet)", "(from the cache, offline)"),
    "bulk.local_pending_1": (
        "– 1 ventende endring er ikke med",
        "– 1 pending change is not included",
    ),
    "access.pick_level_only": ("Velg tilgangsnivå", "Pick an access level"),
    "access.copy_to": ("til", "to"),
    "bulk.local_pending": (
        "– {n} ventende endringer er ikke med",
        "– {n} pending changes are not included",
    ),
    "bulk.hint": ("enter bekrefter, esc avbryter", "enter confirms, esc cancels"),
    "bulk.confirm": ("Utfør «{summary}»?\n{totals}", "Apply “{summary}”?\n{totals}"),
    "confirm.hint": ("y / j: ja  ·  esc: nei", "y: yes  ·  esc: no"),
    "bulk.applying": ("Utfører {n} endringer …", "Applying {n} changes …"),
    "bulk.progress": ("Utført {done} av {total} …", "Done {done} of {total} …"),
    "bulk.results_title": ("Resultat: {summary}", "Results: {summary}"),
    "bulk.results_totals": (
        "opprettet {created}, endret {updated}, uendret {unchanged}, fjernet {deleted}, "
        "feilet {failed}",
        "created {created}, updated {updated}, unchanged {unchanged}, deleted {deleted}, "
        "failed {failed}",
    ),
    "bulk.queued": (
        "Frakoblet: endringen ligger i utboksen ({summary})",
        "Offline: the change is queued in the outbox ({summary})",
    ),
    "bulk.refused": ("Serveren avviste: {detail}", "The server refused: {detail}"),
    "bulk.nothing": ("Ingenting å endre", "Nothing to change"),
    "bulk.undo": ("Angre: {summary}", "Undo: {summary}"),
    "bulk.retry": ("Prøv igjen: {summary}", "Retry: {summary}"),
    "change.grant": ("gi", "grant"),
    "change.change": ("endre", "change"),
    "change.unchanged": ("uendret", "unchanged"),
    "change.revoke": ("fjern", "revoke"),
    "change.failed": ("feiler", "fails"),
    "result.created": ("opprettet", "created"),
    "result.updated": ("endret", "updated"),
    "result.unchanged": ("uendret", "unchanged"),
    "result.deleted": ("fjernet", "deleted"),
    "result.failed": ("FEILET", "FAILED"),
    "pending.title": (
        "Ventende endringer: {p} venter, {r} avvist",
        "Pending changes: {p} pending, {r} rejected",
    ),
    "pending.empty": ("Ingen ventende endringer", "No pending changes"),
    "pending.status.pending": ("venter", "pending"),
    "pending.status.inflight": ("sendes", "sending"),
    "pending.status.rejected": ("avvist", "rejected"),
    "pending.partly": (
        "noen klienter feilet i: {what} (se Tilgang)",
        "some clients failed in: {what} (see Access)",
    ),
    "pending.pushed": (
        "Ventende endringer sendt: {n}, avvist: {r}",
        "Pending changes sent: {n}, rejected: {r}",
    ),
    "app.commands": ("Kommandoer", "Commands"),
    # status line
    "status.online": ("tilkoblet", "online"),
    "dash.no_older_month": ("Ingen eldre måneder med data.", "No older months with data."),
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
        "{n} valgt ({m} skjult av filter)",
        "{n} selected ({m} hidden by filter)",
    ),
    # sync
    "sync.done": ("Synkronisert: {n} endringer på {s} s", "Synced: {n} changes in {s} s"),
    "sync.done_full": (
        "Full synkronisering: {n} rader på {s} s",
        "Full sync: {n} rows in {s} s",
    ),
    "sync.failed": ("Synkronisering feilet: {detail}", "Sync failed: {detail}"),
    "sync.unreachable": (
        "Får ikke kontakt med serveren: {detail}",
        "Cannot reach the server: {detail}",
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
        "Henter data fra serveren for første gang …",
        "Fetching data from the server …",
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
    "fig.amelding_detail_before": (  # fits a card at 120 columns (23 cells)
        "for {month}\nfør frist {date}",
        "for {month}\nbefore due {date}",
    ),
    "fig.amelding_detail_after": ("for {month}\nfrist {date}", "for {month}\ndue {date}"),
    "fig.salary": ("Utbetalt lønn", "Total salary paid"),
    "fig.salary_unit": ("kr", "NOK"),
    "fig.loading": ("…", "…"),
    "clients.loading": ("Laster klientlisten …", "Loading the client list …"),
    # clients
    "clients.count": ("{n} av {m} klienter", "{n} of {m} clients"),
    "clients.search_placeholder": (
        "/ søk i orgnr, navn, grupper, brukere",
        "/ search orgnr, name, groups, users",
    ),
    "col.orgnr": ("Orgnr", "Org no"),
    "col.name": ("Navn", "Name"),
    "col.groups": ("Grupper", "Groups"),
    "col.altinn": ("Altinn", "Altinn"),
    "col.users": (
        "Brukere (A = ansvarlig, M = medarbeider)",
        "Users (A = ansvarlig, M = medarbeider)",
    ),
    "col.status": ("Status", "Status"),
    "altinn.tag": ("partner", "partner"),
    "status.archived": ("arkivert", "archived"),
    "clients.empty": (
        "Ingen klienter passer søket og filteret (esc nullstiller)",
        "No clients match the search and filter (esc clears)",
    ),
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


def problem_text(problem_type: str | None, fallback: str, language: str = "nb") -> str:
    """A server problem in the user's language, by its type (``…/problems/client-archived``
    or just ``client-archived``); the server's own text when the type is not known here, so a
    reason is never lost."""
    code = (problem_type or "").rstrip("/").rsplit("/", 1)[-1]
    key = f"problem.{code}"
    return t(key, language) if code and key in STRINGS else fallback
