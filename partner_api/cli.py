"""``partner-api``: serve the API, create tokens, import a-meldinger, build the demo portfolio."""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands import these lazily, inside each function
    from sqlmodel import Session

    from partner_api.db import Database

DEFAULT_DB = "partner-api.sqlite"


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("PARTNER_API_DB", DEFAULT_DB),
        help="SQLite file or database URL (postgresql+psycopg://...); "
        f"default $PARTNER_API_DB or ./{DEFAULT_DB}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partner-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    _db_arg(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    token = sub.add_parser("create-token", help="print a new API token for a user (shown once)")
    _db_arg(token)
    token.add_argument("email")

    init = sub.add_parser("init", help="create a partner (firm) and its first partneradmin")
    _db_arg(init)
    init.add_argument("--name", required=True)
    init.add_argument("--orgnr", required=True)
    init.add_argument("--admin-email", required=True)
    init.add_argument("--admin-name", required=True)

    add_client = sub.add_parser("add-client", help="add a client company to a partner")
    _db_arg(add_client)
    add_client.add_argument("--partner-orgnr", required=True)
    add_client.add_argument("orgnr")
    add_client.add_argument("name")

    imp = sub.add_parser("import-amelding", help="import a-melding files (JSON or XML)")
    _db_arg(imp)
    imp.add_argument("--partner-orgnr", help="the firm the files belong to (default: the only one)")
    imp.add_argument("files", nargs="+", type=Path)

    demo = sub.add_parser("demo", help="build a realistic demo portfolio")
    _db_arg(demo)
    demo.add_argument("--clients", type=int, default=300)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--out", type=Path, help="also write the generated a-melding files here")
    demo.add_argument("--end-month", help="last month of history, YYYY-MM (default: last complete)")
    demo.add_argument("--json", action="store_true", help='print {"email": ..., "token": ...}')

    expire = sub.add_parser(
        "expire-grants",
        help="end access grants past their valid_until and forget old idempotency keys "
        "(the API also does this by itself on writes and syncs)",
    )
    _db_arg(expire)
    expire.add_argument("--today", help="YYYY-MM-DD (default: today in Norway)")

    args = parser.parse_args(argv)
    handler = {
        "serve": _serve,
        "create-token": _create_token,
        "init": _init,
        "add-client": _add_client,
        "import-amelding": _import,
        "demo": _demo,
        "expire-grants": _expire_grants,
    }[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


def _database(url: str, *, must_exist: bool = False) -> "Database":
    from partner_api.db import Database

    if must_exist and "://" not in url and not Path(url).expanduser().exists():
        # A typo in --db must not quietly create an empty database and then fail obscurely.
        raise SystemExit(
            f"partner-api: no database at {url} (create one with `partner-api init` or "
            "`partner-api demo`, or pass --db)"
        )
    return Database(url)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from partner_api.app import create_app

    app = create_app(_database(args.db))
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def _create_token(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlmodel import col

    from partner_api.models import User
    from partner_api.services.tokens import create_token

    db = _database(args.db, must_exist=True)
    with db.transaction() as session:
        user = session.execute(
            select(User).where(col(User.email) == args.email.lower())
        ).scalar_one_or_none()
        if user is None:
            print(f"partner-api: no user with email {args.email}", file=sys.stderr)
            return 1
        if not user.is_partneradmin:
            print(
                f"partner-api: warning: {user.email} is not a partneradmin; the API will "
                "refuse this token with 403",
                file=sys.stderr,
            )
        print(create_token(session, user))
    return 0


def _init(args: argparse.Namespace) -> int:
    from partner_api.services import portfolio

    db = _database(args.db)
    with db.transaction() as session:
        partner = portfolio.create_partner(session, args.name, args.orgnr)
        portfolio.create_user(
            session, partner, args.admin_name, args.admin_email, partneradmin=True
        )
    print(f"created partner {args.name} with partneradmin {args.admin_email}")
    return 0


def _partner_id(session: "Session", orgnr: str | None) -> int:
    from sqlalchemy import select
    from sqlmodel import col

    from partner_api.models import Partner

    stmt = select(Partner)
    if orgnr:
        stmt = stmt.where(col(Partner.orgnr) == orgnr)
    partners = session.execute(stmt).scalars().all()
    if len(partners) != 1:
        what = f"orgnr {orgnr}" if orgnr else "--partner-orgnr (the database has several or none)"
        raise SystemExit(f"partner-api: no single partner for {what}")
    return int(partners[0].id)


def _add_client(args: argparse.Namespace) -> int:
    from partner_api.problems import ProblemError
    from partner_api.services.portfolio import create_client

    db = _database(args.db, must_exist=True)
    try:
        with db.transaction() as session:
            client = create_client(
                session, _partner_id(session, args.partner_orgnr), args.orgnr, args.name
            )
            print(f"created client {client.id}: {client.orgnr} {client.name}")
    except ProblemError as exc:
        print(f"partner-api: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _import(args: argparse.Namespace) -> int:
    from partner_api.amelding.parse import AmeldingError
    from partner_api.amelding.store import MAX_UPLOAD_BYTES, import_amelding

    db = _database(args.db, must_exist=True)
    with db.reading() as session:
        partner_id = _partner_id(session, args.partner_orgnr)
    failed = 0
    for path in args.files:
        try:
            if path.stat().st_size > MAX_UPLOAD_BYTES:
                raise AmeldingError(str(path), "(file)", "larger than the 20 MiB limit")
            data = path.read_bytes()
            with db.transaction() as session:  # one file, one transaction
                result = import_amelding(session, partner_id, data, str(path))
            print(
                f"{path}: {result.period} {result.client_orgnr} meldingsId {result.meldings_id}"
                f" — {result.active_employees} ansatte, lønn {result.cash_salary_ore / 100:.2f}"
            )
        except AmeldingError as exc:
            failed += 1
            print(f"partner-api: {exc}", file=sys.stderr)
        except OSError as exc:
            failed += 1
            print(f"partner-api: {path}: cannot read: {exc.strerror}", file=sys.stderr)
    if failed:
        print(f"partner-api: {failed} of {len(args.files)} files not imported", file=sys.stderr)
    return 1 if failed else 0


def _expire_grants(args: argparse.Namespace) -> int:
    from datetime import date

    from partner_api.services import access, idempotency

    on = date.fromisoformat(args.today) if args.today else access.today()
    db = _database(args.db)
    with db.transaction() as session:
        ended = access.expire_grants(session, on)
        forgotten = idempotency.prune(session)
    print(f"ended {ended} expired grant(s); forgot {forgotten} old idempotency key(s)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from partner_api.demo.generator import generate_demo

    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    result = generate_demo(
        _database(args.db),
        clients=args.clients,
        seed=args.seed,
        out_dir=args.out,
        end_month=args.end_month,
        progress=progress,
    )
    print(
        f"\rdemo portfolio ready in {time.perf_counter() - started:.1f} s: "
        f"{result.clients} clients, {result.users} users, through {result.end_month}",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps({"email": result.email, "token": result.token}))
    else:
        print(f"email: {result.email}\ntoken: {result.token}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
