"""``python -m simulators.ghl``: serve the GHL simulator in the foreground.

Prints one line, ``GHL simulator listening on http://HOST:PORT``, once it accepts
connections, so a parent process can read the URL from its output.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.demo import seed_demo
from simulators.ghl.sim import GhlSim
from simulators.serve import serve_forever


def build_parser() -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(
        prog="python -m simulators.ghl",
        description="Serve a local GHL API v2 simulator (contacts, tasks, notes, tags, "
                    "appointments, users) with GHL's auth, scopes, duplicates rule, error "
                    "shapes and per-location rate limit. Admin routes: /_sim/state, "
                    "/_sim/stats, /_sim/config, /_sim/reset, /_sim/tokens, /_sim/calendars, "
                    "/_sim/users, /_sim/locations, /_sim/contacts.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    p.add_argument("--threads", type=int, default=32, help="server threads (default 32)")
    p.add_argument("--token", help="accept this Bearer token (needs --location)")
    p.add_argument("--location", help="location (sub-account) id of --token and --calendar")
    p.add_argument("--scopes", default="contacts.readonly",
                   help='space-separated scopes of --token (default "%(default)s")')
    p.add_argument("--calendar", action="append", default=[],
                   help="a calendar id of --location; repeat for more")
    p.add_argument("--allow-duplicates", action="store_true",
                   help='turn on the location\'s "Allow Duplicate Contact" setting')
    p.add_argument("--demo", action="store_true",
                   help="also register token sim-token for sim-location, with every scope, "
                        "calendar sim-calendar and two users")
    p.add_argument("--max-requests", type=int, default=d.max_requests,
                   help="requests per window, per location (default %(default)s)")
    p.add_argument("--interval-ms", type=int, default=d.interval_ms,
                   help="the sliding window, in milliseconds (default %(default)s)")
    p.add_argument("--daily-max", type=int, default=d.daily_max,
                   help="requests per UTC day, per location (default %(default)s)")
    p.add_argument("--send-retry-after", action="store_true",
                   help="add Retry-After (seconds) to 429 answers (GHL: unconfirmed)")
    p.add_argument("--latency-ms", type=int, default=d.latency_ms,
                   help="delay added to every API request, in milliseconds (default 0)")
    p.add_argument("--error-rate", type=float, default=d.error_rate,
                   help="share 0-1 of requests answered 500/502/503 before anything is done")
    p.add_argument("--lost-answer-rate", type=float, default=d.lost_answer_rate,
                   help="share 0-1 of successful writes applied and then answered 504")
    p.add_argument("--seed", type=int, help="seed of the fault dice (default: random)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.token and not args.location:
        parser.error("--token needs --location")
    if args.calendar and not args.location:
        parser.error("--calendar needs --location")
    try:
        config = SimConfig(
            max_requests=args.max_requests, interval_ms=args.interval_ms,
            daily_max=args.daily_max, send_retry_after=args.send_retry_after,
            latency_ms=args.latency_ms, error_rate=args.error_rate,
            lost_answer_rate=args.lost_answer_rate, seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    sim = GhlSim(config)
    if args.demo:
        seed_demo(sim)
    if args.token:
        sim.add_token(args.token, args.location, args.scopes)
    for calendar_id in args.calendar:
        sim.add_calendar(args.location, calendar_id)
    if args.location and args.allow_duplicates:
        sim.set_allow_duplicates(args.location, True)

    def ready(url: str) -> None:
        print(f"GHL simulator listening on {url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(create_app(sim), host=args.host, port=args.port,
                      threads=max(32, args.threads), on_ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
