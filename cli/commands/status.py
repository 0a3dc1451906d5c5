"""``toky-ghl status [--json]``: queue depth, in flight, retrying, dead letters, counts, budget."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "status",
        help="show queue depth, in-flight, retrying, dead-lettered, synced counts, rate budget",
        description="Show what the sync is doing, read from the shared Redis.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from toky_ghl.redis_conn import get_redis
    from toky_ghl.settings import get_settings
    from worker.status import collect_status, format_status

    settings = get_settings()
    report = collect_status(get_redis(), settings)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else format_status(report))
    return 0
