"""``toky-ghl settings [--markdown]``: every setting, its default and what it does."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Lists every environment variable toky-ghl reads, with its default and meaning,
from the settings table itself (toky_ghl/settings.py), so the list cannot drift
from the code. README.md's configuration table is this command's --markdown.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "settings", help="list every setting (environment variable) with its default",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true",
                        help="the README's configuration table (Markdown)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from toky_ghl.settings import OPTIONS, settings_markdown

    if args.markdown:
        print(settings_markdown(), end="")
        return 0
    for opt in OPTIONS:
        secret = " (secret)" if opt.secret else ""
        print(f"{opt.env}={opt.default_text().strip('`')}{secret}\n    {opt.help}")
    return 0
