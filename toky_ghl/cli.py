"""The ``toky-ghl`` console script: parses the command line and dispatches.

Exit status: 0 success, 1 the command ran and found problems (e.g. invalid
lines), 2 bad usage or bad configuration (the message names what is wrong).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from toky_ghl import __version__
from toky_ghl.commands import COMMAND_MODULES
from toky_ghl.errors import ConfigError


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"toky-ghl {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `toky-ghl dlq list | head`: the reader left, not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
