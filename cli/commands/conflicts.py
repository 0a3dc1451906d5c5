"""``toky-ghl conflicts [list] [--json] | clear EMAIL…|--all``: emails shared by several phones.

GHL matches contacts by email before phone; toky-ghl keeps each phone's contact
apart (guarantee 3) and records every email that the contacts of several phones
share (see worker/sync/contact_upsert.py). This lists them for an operator to
resolve in GHL or Toky, and clears the ones resolved.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "conflicts",
        help="list emails shared by the GHL contacts of several phones (kept apart)",
        description=(
            "GHL matches a contact by email before phone. When the email of a Toky contact "
            "belongs to another phone's GHL contact, toky-ghl keeps the two contacts apart "
            "and records it here."),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    ls = actions.add_parser("list", help="one line per email, the one seen longest ago first")
    ls.add_argument("--json", action="store_true", help="print JSON lines instead")
    clear = actions.add_parser("clear", help="forget conflicts (after resolving them)")
    clear.add_argument("emails", nargs="*", metavar="EMAIL", help="emails to forget")
    clear.add_argument("--all", action="store_true", help="forget every conflict")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead")
    parser.set_defaults(func=run)


def _when(at_s: float) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from toky_ghl.redis_conn import get_redis
    from toky_ghl.settings import get_settings
    from worker.conflicts import ConflictStore

    store = ConflictStore(get_redis(), get_settings().key_prefix)
    if args.action == "clear":
        if bool(args.emails) == bool(args.all):
            print("toky-ghl conflicts clear: name emails or give --all (not both)")
            return 2
        removed = store.clear(None if args.all else args.emails)
        print(f"cleared {removed}")
        return 0
    entries = store.list()
    for entry in entries:
        if args.json:
            print(json.dumps(asdict(entry), sort_keys=True))
            continue
        phones = ", ".join(
            f"{phone} → {entry.contacts[phone]}"
            f" ({'has the email' if phone in entry.email_on else 'without it'})"
            for phone in entry.phones)
        print(f"{entry.email}  {phones}  last {_when(entry.last_s)}  {entry.resolution}")
    if not entries and not args.json:
        print("no email conflicts")
    return 0
