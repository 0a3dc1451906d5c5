"""``toky-ghl catalog [--json|--markdown]``: every trigger and action rules can use."""

from __future__ import annotations

import argparse
import json
from typing import Any

DESCRIPTION = """\
Lists every trigger (event type, with its fields and their types) and every
action (its parameters, the GHL requests it sends, the scopes they need, how
it stays idempotent), from the same registry the rules engine runs, so the
list cannot drift from the code. docs/catalog.md is this command's --markdown.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "catalog", help="list the triggers and actions automations can use",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON document")
    form.add_argument("--markdown", action="store_true", help="Markdown (docs/catalog.md)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from worker.rules.catalog import catalog_data, catalog_markdown, catalog_text

    if args.json:
        print(json.dumps(catalog_data(), indent=2, ensure_ascii=False))
    elif args.markdown:
        print(catalog_markdown(), end="")
    else:
        print(catalog_text())
    return 0
