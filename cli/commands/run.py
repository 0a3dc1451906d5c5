"""``toky-ghl run``: everything on one machine (see cli/launcher/run.py)."""

from __future__ import annotations

import argparse

from cli.commands.argtypes import positive_int


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run",
        help="everything on one machine for a first look (embedded Redis and simulators "
             "when nothing is configured)",
        description=(
            "Start everything on this machine: Redis (REDIS_URL, or an embedded one), the GHL "
            "and Toky simulators when GHL_TOKEN / TOKY_API_KEY are not set (seeded with demo "
            "data), Flower on loopback (FLOWER_BASIC_AUTH, or user admin with a password "
            "generated for this run and shown once), the worker(s), the webhook receiver "
            "(WEBHOOK_SECRET, or a generated one), the poller, and the GHL -> Toky mirror "
            "when MIRROR_GHL_TO_TOKY=1 (in the demo, with both simulators, it is on unless "
            "MIRROR_GHL_TO_TOKY=0). With the GHL simulator, the demo events are queued too "
            "(--no-demo: not, and no mirror of demo contacts). Output of every process is "
            "prefixed with its name; a summary says where to look (Flower URL, and "
            "toky-ghl status / dlq commands that work when pasted). Ctrl-C stops all. "
            "Exit status 2: bad usage, a bad setting, or REDIS_URL unreachable."
        ),
    )
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="worker processes (default 1)")
    parser.add_argument("--no-demo", action="store_true",
                        help="do not queue the demo events into the GHL simulator (and do not "
                             "turn the mirror on for the demo)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: run until Ctrl-C)")
    parser.add_argument("--status-every", type=float, default=10.0, metavar="S",
                        help="print a status line every S seconds (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.launcher.run import run as run_all

    return run_all(workers=args.workers, demo=not args.no_demo, duration_s=args.duration,
                   status_every_s=args.status_every)
