"""The ``toky-ghl`` console script: parses the command line and dispatches.

Exit status: 0 success, 1 the command ran and found problems (e.g. invalid
lines), 2 bad usage or bad configuration (the message names what is wrong), or
Redis unreachable (one message for every command, the URL's password masked).

Every command logs to stderr, at ``LOG_LEVEL``, through the redacting processor
(``toky_ghl.logs``): stdout carries the command's own output only.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cli.commands import COMMAND_MODULES
from toky_ghl import __version__
from toky_ghl.errors import ConfigError, RedisUnreachable, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toky-ghl",
        description="Keep a HighLevel (GHL) sub-account in sync with Toky.",
        epilog="Configuration comes from environment variables: see README.md, Configuration.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_path in COMMAND_MODULES:
        importlib.import_module(module_path).register(sub)
    return parser


def configure_logging() -> None:
    """Log lines to stderr at ``LOG_LEVEL``, secrets of the settings redacted; with
    settings that do not load, INFO (the command then names the bad setting)."""
    from toky_ghl import logs
    from toky_ghl.settings import get_settings

    try:
        settings = get_settings()
    except ConfigError:
        logs.configure("INFO")
        return
    logs.register_settings_secrets(settings)
    logs.configure(settings.log_level)


def _redis_url() -> str:
    from toky_ghl.settings import get_settings

    try:
        return get_settings().redis_url
    except ConfigError:
        return "(unreadable)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    from toky_ghl.redis_conn import UNREACHABLE_ERRORS, unreachable

    try:
        configure_logging()
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"toky-ghl {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except (RedisUnreachable, UsageError) as exc:
        print(f"toky-ghl {args.command}: {exc}", file=sys.stderr)
        return 2
    except UNREACHABLE_ERRORS as exc:  # Redis went away mid-command
        print(f"toky-ghl {args.command}: {unreachable(_redis_url(), exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `toky-ghl dlq list | head`: the reader left, not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
