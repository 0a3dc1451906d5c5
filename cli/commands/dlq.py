"""``toky-ghl dlq list|show ID|replay [ID…|--all]|purge``: the dead-letter store."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dlq",
        help="list, show, replay or purge dead-lettered events",
        description=(
            "Events that could not be applied wait here with their reason. Fix the cause "
            "(grant a scope, correct the field map, fix the data), then replay them."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="one line per dead letter, oldest first")
    ls.add_argument("--json", action="store_true", help="print JSON lines instead")
    show = actions.add_parser("show", help="the whole entry: event, reason, kind, time")
    show.add_argument("id", help="the entry's id (the event id)")
    replay = actions.add_parser("replay", help="queue dead letters again and remove them")
    replay.add_argument("ids", nargs="*", metavar="ID", help="entries to replay")
    replay.add_argument("--all", action="store_true", help="replay every entry")
    purge = actions.add_parser("purge", help="delete every dead letter")
    purge.add_argument("--yes", action="store_true", help="really delete (required)")
    parser.set_defaults(func=run)


def _when(at_s: float) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from producers.queue import EventPublisher
    from toky_ghl.redis_conn import get_redis
    from toky_ghl.settings import get_settings
    from worker.dlq import DeadLetter, DeadLetterStore
    from worker.versions import VersionStore

    settings = get_settings()
    client = get_redis()
    store = DeadLetterStore(client, settings.key_prefix)

    if args.action == "list":
        entries = store.list()
        for e in entries:
            if args.json:
                print(json.dumps({"id": e.id, "type": e.event_type, "kind": e.kind,
                                  "reason": e.reason, "at": _when(e.at_s), "count": e.count}))
            else:
                print(f"{e.id}\t{e.event_type}\t{e.kind}\t{_when(e.at_s)}\t{e.reason}")
        if not args.json:
            print(f"{len(entries)} dead letter(s)", file=sys.stderr)
        return 0

    if args.action == "show":
        entry = store.get(args.id)
        if entry is None:
            print(f"toky-ghl dlq show: no dead letter with id {args.id!r}", file=sys.stderr)
            return 1
        print(json.dumps({"id": entry.id, "kind": entry.kind, "reason": entry.reason,
                          "at": _when(entry.at_s), "count": entry.count,
                          "task_id": entry.task_id, "event": entry.event}, indent=2))
        return 0

    if args.action == "replay":
        if bool(args.ids) == bool(args.all):
            print("toky-ghl dlq replay: give entry ids or --all (not both)", file=sys.stderr)
            return 2
        asked: Sequence[DeadLetter | None] = (
            store.list() if args.all else [store.get(i) for i in args.ids])
        missing = [i for i, e in zip(args.ids, asked, strict=False) if e is None]
        for i in missing:
            print(f"toky-ghl dlq replay: no dead letter with id {i!r}", file=sys.stderr)
        found = [e for e in asked if e is not None]
        unplayable = [e for e in found
                      if not (isinstance(e.event, dict) and isinstance(e.event.get("id"), str))]
        for e in unplayable:
            print(f"toky-ghl dlq replay: {e.id} is not replayable (the event has no id); "
                  "fix it and queue it with `toky-ghl enqueue`", file=sys.stderr)
        found = [e for e in found if e not in unplayable]
        versions = VersionStore(client, settings.key_prefix)
        for e in found:
            versions.forget_event(e.id)
        EventPublisher(client, key_prefix=settings.key_prefix, source="replay").republish(
            [e.event for e in found])
        store.remove([e.id for e in found])
        print(f"replayed {len(found)} dead letter(s)")
        return 1 if missing or unplayable else 0

    if not args.yes:
        print(f"toky-ghl dlq purge: this deletes {store.count()} dead letter(s); "
              "add --yes to do it", file=sys.stderr)
        return 2
    print(f"purged {store.purge()} dead letter(s)")
    return 0
