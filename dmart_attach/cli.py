"""The `dmart-attach` command: serve the API, set a password."""

import argparse
import logging
import sys

from dmart_attach import logs
from dmart_attach.config import get_settings
from dmart_attach.errors import DmartError
from dmart_attach.services.auth import UnsafeSettings
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.container import build_services

logger = logging.getLogger("dmart_attach.cli")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    services = build_services(settings)
    generated = bootstrap(services.store)
    if generated:
        logger.warning(
            "generated a password for the admin; set ADMIN_PASSWORD or run set-password to choose one",
            extra={"user": settings.admin_shortname, "password": generated},
        )
    uvicorn.run(
        "dmart_attach.api.app:create_app",
        factory=True,
        host=args.host or settings.listening_host,
        port=args.port or settings.listening_port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    return 0


def _set_password(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("set-password: no password on standard input", file=sys.stderr)  # noqa: T201
        return 2
    services = build_services(get_settings())
    bootstrap(services.store)
    try:
        services.auth.set_password(args.shortname, password)
    except (LookupError, DmartError) as error:
        print(f"set-password: {error}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def _reindex(args: argparse.Namespace) -> int:
    store = build_services(get_settings()).store
    if args.space and not store.tree.space_exists(args.space):
        print(f"reindex: no space named {args.space}", file=sys.stderr)  # noqa: T201
        return 1
    rows = store.index.rebuild(args.space)
    print(f"reindex: {rows} records indexed from {store.tree.root}")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="dmart-attach", description="Dmart's managed API over a spaces tree")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", help="address to listen on (LISTENING_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (LISTENING_PORT)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.set_defaults(run=_serve)
    set_password = commands.add_parser("set-password", help="set a user's password, read from standard input")
    set_password.add_argument("shortname")
    set_password.set_defaults(run=_set_password)
    reindex = commands.add_parser("reindex", help="rebuild the index from the tree, of one space or of all")
    reindex.add_argument("space", nargs="?", help="the space to reindex (every space when omitted)")
    reindex.set_defaults(run=_reindex)
    args = parser.parse_args(argv)

    logs.configure(get_settings().log_level)
    try:
        result: int = args.run(args)
    except UnsafeSettings as error:
        print(f"dmart-attach: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return result
