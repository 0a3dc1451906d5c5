"""``toky-ghl auth login|status|rotate|forget|resume|new-key``: the GHL credentials.

No sub-command ever prints a token, and ``rotate`` takes the new token from
standard input only: a token on the command line would stay in the shell
history and show in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    import redis

    from toky_ghl.settings import Settings

_REFUSED_ARGUMENT = (
    "toky-ghl auth rotate: refusing a token on the command line (it would stay in the shell "
    "history and show in `ps`); pipe it on standard input instead, e.g. "
    "`toky-ghl auth rotate < new-token.txt`, or run it without arguments and paste it"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("auth", help="GHL credentials: OAuth login, status, PIT rotation",
                            description="Manage the GHL credentials kept (encrypted) in Redis.")

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(func=show_help)
    auth = parser.add_subparsers(dest="auth_command", metavar="SUBCOMMAND")

    login = auth.add_parser("login", help="authorise the OAuth app for the location",
                            description="Print the authorize URL, read the code, store the pair.")
    login.add_argument("--code", help="the code from the redirect (default: read from stdin)")
    login.add_argument("--scopes", help="scopes to ask for (default: GHL_SCOPES)")
    login.set_defaults(func=run_login)

    status = auth.add_parser(
        "status", help="show which credential is in force, kind, scopes, expiry, pause",
        description="Show the location's credentials: which one workers use now (stored in "
                    "Redis by `auth rotate` / `auth login`, else GHL_TOKEN), a warning when "
                    "GHL_TOKEN is set but not used, scopes, expiry and pause. Never a token.",
        epilog="exit status: 0 credentials in force; 1 none anywhere (the message says what "
               "to set); 2 configuration or Redis unreachable.")
    status.add_argument("--json", action="store_true", help="print one JSON object instead")
    status.set_defaults(func=run_status)

    rotate = auth.add_parser(
        "rotate", help="store a new Private Integration Token, read from standard input",
        description="Read the new PIT from standard input (never the command line) and store "
                    "it; running workers use it from their next call.")
    rotate.add_argument("token", nargs="?", help=argparse.SUPPRESS)
    rotate.add_argument("--token", dest="token_option", help=argparse.SUPPRESS)
    rotate.set_defaults(func=run_rotate, accepts_extra=True)

    forget = auth.add_parser(
        "forget", help="drop the credentials stored in Redis (workers then use GHL_TOKEN)",
        description="Delete the credentials `auth rotate` / `auth login` stored for the "
                    "location, and its pause; every worker uses GHL_TOKEN from its next call. "
                    "An OAuth pair cannot be recovered afterwards (log in again).",
        epilog="exit status: 0 forgotten (or nothing stored); 2 without --yes.")
    forget.add_argument("--yes", action="store_true", help="really forget them")
    forget.set_defaults(func=run_forget)

    resume = auth.add_parser("resume", help="lift a pause by hand (credentials fixed in GHL)")
    resume.set_defaults(func=run_resume)

    new_key = auth.add_parser("new-key", help="print a fresh key for TOKEN_ENCRYPTION_KEY")
    new_key.set_defaults(func=run_new_key)


def _deps() -> tuple[Settings, redis.Redis]:
    from toky_ghl import logs
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings

    settings = get_settings()
    # Log lines (redacted) go to stderr at LOG_LEVEL (cli.main): stdout carries the answer.
    logs.register_secrets([settings.ghl_token, settings.ghl_client_secret,
                           settings.ghl_refresh_token, settings.token_encryption_key])
    return settings, require_redis(settings.redis_url)


def _code_from(text: str) -> str:
    """The code itself, or the ``code`` parameter of a pasted redirect URL."""
    text = text.strip()
    if "code=" in text:
        found = parse_qs(urlsplit(text).query or text.split("?", 1)[-1]).get("code")
        if found:
            return found[0]
    return text


def run_login(args: argparse.Namespace) -> int:
    from worker.auth.errors import AuthError
    from worker.auth.manage import login
    from worker.auth.oauth import authorize_url

    settings, client = _deps()
    code = args.code
    settings.require("GHL_CLIENT_ID", "GHL_CLIENT_SECRET", "GHL_LOCATION_ID")
    if not code:
        settings.require("GHL_OAUTH_REDIRECT_URI")
        scopes = (args.scopes or "").replace(",", " ").split() or sorted(settings.ghl_scopes)
        client_id, redirect_uri = settings.ghl_client_id, settings.ghl_oauth_redirect_uri
        assert client_id and redirect_uri  # (required above)
        print(authorize_url(settings.ghl_oauth_authorize_url, client_id=client_id,
                            redirect_uri=redirect_uri, scopes=scopes))
        print("Open the URL above, choose the sub-account, then paste the `code` of the "
              "redirect (or the whole redirect URL):", file=sys.stderr)
        code = sys.stdin.readline()
    code = _code_from(code or "")
    if not code:
        print("toky-ghl auth login: no code given", file=sys.stderr)
        return 2
    try:
        creds = login(settings, client, code)
    except AuthError as exc:
        print(f"toky-ghl auth login: {exc}", file=sys.stderr)
        return 1
    print(f"logged in: OAuth credentials for location {creds.location_id} stored "
          f"(version {creds.version}), scopes: {' '.join(creds.scopes) or '(none)'}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    import time

    from worker.auth.report import auth_report, format_auth

    settings, client = _deps()
    report = auth_report(settings, client, time.time())
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else format_auth(report))
    if report["warning"]:
        print(f"toky-ghl auth status: warning: {report['warning']}", file=sys.stderr)
    if report["in_force"] is None:
        from worker.auth.errors import NO_CREDENTIALS

        print(f"toky-ghl auth status: {NO_CREDENTIALS}", file=sys.stderr)
        return 1
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from worker.auth.manage import forget

    if not args.yes:
        print("toky-ghl auth forget: this deletes the credentials stored in Redis (an OAuth "
              "pair cannot be recovered); run again with --yes", file=sys.stderr)
        return 2
    settings, client = _deps()
    version = forget(settings, client)
    if version is None:
        print("nothing stored: workers use GHL_TOKEN" if settings.ghl_token
              else "nothing stored (and GHL_TOKEN is not set)")
        return 0
    after = ("workers use GHL_TOKEN from their next call" if settings.ghl_token
             else "GHL_TOKEN is not set: workers have no credentials until one is stored")
    print(f"forgotten: the credentials stored for location {settings.ghl_location_id} "
          f"(version {version}); {after}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from worker.auth.manage import rotate_pit

    if args.token or args.token_option or args.extra:
        print(_REFUSED_ARGUMENT, file=sys.stderr)
        return 2
    settings, client = _deps()
    if sys.stdin.isatty():
        token = getpass.getpass("new Private Integration Token (not shown): ")
    else:
        token = sys.stdin.read()
    creds = rotate_pit(settings, client, token)
    print(f"rotated: a new Private Integration Token is stored for location "
          f"{creds.location_id} (version {creds.version}); workers use it from their next call")
    return 0


def run_resume(_args: argparse.Namespace) -> int:
    from worker.auth.manage import resume

    settings, client = _deps()
    was = resume(settings, client)
    print("resumed: sending is no longer paused" if was else "not paused: nothing to do")
    return 0


def run_new_key(_args: argparse.Namespace) -> int:
    from worker.auth.crypto import new_key

    print(new_key())
    return 0
