"""``partner-tui``: the terminal app, its embedded demo, and headless sync.

Heavy imports (Textual, and the server stack for ``demo``) happen inside the commands, so
``partner-tui sync`` starts fast and the app never loads the server outside ``demo``. The app
gets a :class:`~partner_tui.core.deferred.DeferredSyncer`: the API client, the sync (httpx,
pydantic, SQLAlchemy) and the demo's embedded server are set up in the app's first sync, after
the dashboard has drawn its figures.
"""

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from partner_tui.core.config import ConfigError, Paths, Settings, load_settings, paths

if TYPE_CHECKING:  # imported inside the commands at run time (see above)
    from partner_api.db import Database
    from partner_tui.app import SyncerLike
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.sync import Syncer

DEMO_SERVER_KEY = "embedded-demo"  # the demo server's identity; its port changes every start
EXIT_UNREACHABLE = 2
EXIT_REFUSED = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="partner-tui",
        description="Partneradmin in the terminal. Without a command: open the app.",
    )
    parser.add_argument("--api", help="API base URL (default: config file or $PARTNER_TUI_API)")
    parser.add_argument("--offline", action="store_true", help="open on the local cache only")
    parser.add_argument("--lang", choices=["nb", "en"], help="language (default nb)")
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo", help="the app on an embedded demo server (no setup needed)")
    demo.add_argument("--clients", type=int, default=300, help="size of a new demo portfolio")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--reset", action="store_true", help="build a fresh demo portfolio")
    demo.add_argument(
        "--offline",
        action="store_true",
        dest="demo_offline",
        help="open the demo's cache without starting its server",
    )

    sync = sub.add_parser("sync", help="sync the local cache headless and print a summary")
    sync.add_argument("--api", dest="sync_api", help="API base URL")
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")

    export = sub.add_parser(
        "export", help="write a report from the local cache headless (no network)"
    )
    export.add_argument("report", choices=["access"], help="access: who can access what")
    export.add_argument("--format", choices=["csv", "xlsx"], dest="export_format")
    export.add_argument("--out", required=True, help="file to write")
    who = export.add_mutually_exclusive_group()
    who.add_argument("--user", type=int, help="only this user's access (user id)")
    who.add_argument("--client", type=int, help="only this client's users (client id)")
    export.add_argument("--api", dest="export_api", help="whose cache (API base URL)")
    export.add_argument("--cache", help="cache file to read (default: the API's cache)")
    export.add_argument("--demo", action="store_true", help="read the demo's cache")

    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"partner-tui: {exc}", file=sys.stderr)
        return 1
    for warning in settings.warnings:
        print(f"partner-tui: warning: {warning}", file=sys.stderr)
    if args.lang:
        settings.language = args.lang
    if args.command == "demo":
        return _demo(args, settings)
    if args.command == "sync":
        return _sync(args.sync_api or args.api, settings, as_json=args.json)
    if args.command == "export":
        return _export(args, settings)
    return _open(args, settings)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """``partner-tui export access``: the access report from the cache as CSV or XLSX."""
    from contextlib import closing
    from pathlib import Path

    from partner_tui.core.cache import CacheDB
    from partner_tui.core.export import access_report, write_report

    if args.cache:
        cache_file = Path(args.cache)
    elif args.demo:
        cache_file = paths().demo_cache_file
    else:
        url = args.export_api or args.api or settings.api_url
        if not url:
            print(
                "partner-tui: which cache? pass --api URL, --cache FILE or --demo", file=sys.stderr
            )
            return 1
        cache_file = paths().cache_file(url)
    if not cache_file.exists():
        print(f"partner-tui: no cache at {cache_file} (sync first)", file=sys.stderr)
        return 1
    out = Path(args.out)
    fmt = args.export_format or out.suffix.lstrip(".").lower()
    if fmt not in ("csv", "xlsx"):
        print("partner-tui: --format csv or xlsx (or an .csv / .xlsx file name)", file=sys.stderr)
        return 2
    cache = CacheDB(cache_file)
    try:
        with closing(cache.raw()) as conn:
            rows = access_report(conn, user_id=args.user, client_id=args.client)
        write_report(rows, out, fmt)
    except OSError as exc:
        print(f"partner-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        cache.dispose()
    print(f"{len(rows)} rows → {out}")
    return 0


def _need_remote(api: str | None, settings: Settings) -> tuple[str, str] | str:
    url = api or settings.api_url
    if not url:
        return (
            "no API address: pass --api URL, set PARTNER_TUI_API, or put api_url in "
            f"{paths().config_file} (or try `partner-tui demo`)"
        )
    if not settings.token:
        return (
            f"no API token: set PARTNER_TUI_TOKEN or put token in {paths().config_file} "
            "(create one with `partner-api create-token EMAIL`)"
        )
    return url, settings.token


def _sync(api: str | None, settings: Settings, *, as_json: bool) -> int:
    from partner_tui.core.api_client import ApiClient, ApiError, ApiUnreachable
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.sync import Syncer

    target = _need_remote(api, settings)
    if isinstance(target, str):
        print(f"partner-tui: {target}", file=sys.stderr)
        return 1
    url, token = target
    cache = CacheDB(paths().cache_file(url))
    with ApiClient(url, token) as client:
        try:
            report = Syncer(client, cache).sync()
        except ApiUnreachable as exc:
            print(f"partner-tui: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
        except ApiError as exc:
            if exc.status in (401, 403):
                print(
                    f"partner-tui: the API refused the token: {exc.problem.detail}", file=sys.stderr
                )
                return EXIT_REFUSED
            print(f"partner-tui: sync failed: {exc}", file=sys.stderr)
            return 1
    summary: dict[str, Any] = {
        "mode": "full" if report.full else "incremental",
        "counts": dict(sorted(report.counts.items())),
        "total": report.total,
        "seconds": round(report.seconds, 3),
        "pages": report.pages,
        "server_version": report.server_version,
        "cache": str(cache.path),
    }
    if as_json:
        print(json.dumps(summary))
    else:
        kinds = ", ".join(f"{k} {v}" for k, v in summary["counts"].items()) or "no changes"
        print(f"{summary['mode']} sync: {kinds} — {report.seconds:.2f} s")
    return 0


def _open(args: argparse.Namespace, settings: Settings) -> int:
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.deferred import DeferredSyncer

    target = _need_remote(args.api, settings)
    if isinstance(target, str) and not args.offline:
        print(f"partner-tui: {target}", file=sys.stderr)
        return 1
    if isinstance(target, str):
        url = args.api or settings.api_url
        if not url:
            print(f"partner-tui: {target}", file=sys.stderr)
            return 1
        return _run_app(
            CacheDB(paths().cache_file(url)), None, settings, offline_reason="--offline"
        )
    url, token = target
    cache = CacheDB(paths().cache_file(url))
    if args.offline:
        return _run_app(cache, None, settings, offline_reason="--offline")

    def remote(stack: ExitStack) -> "Syncer":
        from partner_tui.core.api_client import ApiClient
        from partner_tui.core.sync import Syncer

        return Syncer(stack.enter_context(ApiClient(url, token)), cache)

    with DeferredSyncer(remote) as syncer:
        return _run_app(cache, syncer, settings)


def _run_app(
    cache: "CacheDB",
    syncer: "SyncerLike | None",
    settings: Settings,
    offline_reason: str | None = None,
) -> int:
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # nothing moves: nothing to send over SSH
    from partner_tui.app import PartnerApp

    me = cache.get_meta("me_user_id")
    app = PartnerApp(
        cache,
        syncer,
        offline_reason=offline_reason,
        language=settings.language,
        caller_id=int(me) if me else None,
    )
    if settings.keys:
        from partner_tui.core.bindings import BINDINGS

        known = {b.id for b in BINDINGS}
        unknown = sorted(set(settings.keys) - known)
        if unknown:
            print(
                f"partner-tui: unknown binding ids in [keys]: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})",
                file=sys.stderr,
            )
            return 1
        app.set_keymap(settings.keys)
    app.run()
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.deferred import DeferredSyncer

    p = paths()
    cache = CacheDB(p.demo_cache_file)
    if args.demo_offline or args.offline:
        return _run_app(cache, None, settings, offline_reason="--offline")

    def embedded(stack: ExitStack) -> "Syncer":
        # The embedded default: the real API app in-process on a loopback port. Imported here
        # only, so the app proper never loads the server stack.
        from partner_api.app import create_app
        from partner_api.local_server import LocalServer
        from partner_tui.core.api_client import ApiClient
        from partner_tui.core.sync import Syncer

        database = _demo_database(p, args)
        token = _demo_token(database)
        server = stack.enter_context(LocalServer(create_app(database)))
        client = stack.enter_context(ApiClient(server.url, token))
        return Syncer(client, cache, server_key=DEMO_SERVER_KEY)

    with DeferredSyncer(embedded) as syncer:
        if cache.is_empty() or args.reset or not p.demo_database.exists():
            # Building the portfolio prints progress: do it before the app owns the terminal.
            syncer.ready()
        if cache.is_empty():
            print("Henter demodata inn i den lokale cachen …", file=sys.stderr, flush=True)
            report = syncer.sync()
            print(f"{report.total} rader synkronisert på {report.seconds:.1f} s", file=sys.stderr)
        return _run_app(cache, syncer, settings)


def _demo_database(p: Paths, args: argparse.Namespace) -> "Database":
    from partner_api.db import Database
    from partner_api.demo.generator import generate_demo

    target = p.demo_database
    if args.reset and target.exists():
        for suffix in ("", "-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(target.name + ".partial")
        for suffix in ("", "-wal", "-shm"):
            partial.with_name(partial.name + suffix).unlink(missing_ok=True)
        print(f"Bygger demoportefølje med {args.clients} klienter (én gang) …", file=sys.stderr)
        started = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            print(f"\r  {stage}: {done}/{total}    ", end="", file=sys.stderr, flush=True)

        building = Database(str(partial))
        generate_demo(building, clients=args.clients, seed=args.seed, progress=progress)
        building.dispose()
        _fold_wal(partial)  # the file moves next: its -wal must not be left behind
        os.replace(partial, target)  # a crash mid-build leaves only the .partial file
        print(f"\r  ferdig på {time.perf_counter() - started:.1f} s{' ' * 20}", file=sys.stderr)
    return Database(str(target))


def _fold_wal(path: Any) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def _demo_token(database: "Database") -> str:
    from sqlalchemy import select
    from sqlmodel import col

    from partner_api.models import User
    from partner_api.services.tokens import create_token

    with database.transaction() as session:
        admin = (
            session.execute(
                select(User)
                .where(col(User.is_partneradmin), col(User.active))
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        assert admin is not None, "the demo database has no active partneradmin"
        return str(create_token(session, admin))


if __name__ == "__main__":
    sys.exit(main())
