"""``toky-ghl webhook [--host H] [--port P]``: receive Toky webhooks and queue events."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from cli.commands.argtypes import port, positive_int

DESCRIPTION = """\
Serves POST /webhooks/toky/{event}?token=WEBHOOK_SECRET (or the secret in the
X-Webhook-Token header) with waitress, and queues one event per accepted
webhook: inbound_call_ended and outbound_call_ended → call.ended, new_voicemail
→ voicemail.created, new_sms → sms.received (sms.sent for an outbound SMS).
GET /healthz answers 200 when Redis answers, else 503. Refuses to start
without WEBHOOK_SECRET. Bodies over WEBHOOK_MAX_BODY_BYTES get 413.
"""

EPILOG = """\
The default host is 127.0.0.1 (loopback only): put it behind a TLS-terminating
proxy or load balancer, or pass --host 0.0.0.0 to listen on every interface.
see docs/webhook.md (URLs and answers).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "webhook", help="receive Toky webhooks and queue events",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8080,
                        help="port to listen on (default: 8080; 0: any free port)")
    parser.add_argument("--threads", type=positive_int, default=8,
                        help="worker threads of the server (default: 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.commands.ports import busy_port
    from producers.queue import EventPublisher
    from producers.webhook import HANDLED_EVENTS, create_app, make_server
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings

    settings = get_settings()
    settings.require("WEBHOOK_SECRET")
    client = require_redis(settings.redis_url)
    app = create_app(secret=settings.webhook_secret,
                     publisher=EventPublisher(client, key_prefix=settings.key_prefix,
                                              source="webhook"),
                     redis_client=client, max_body_bytes=settings.webhook_max_body_bytes)
    try:
        server = make_server(app, host=args.host, port=args.port, threads=args.threads,
                             max_body_bytes=settings.webhook_max_body_bytes)
    except OSError as exc:
        raise busy_port(args.host, args.port, exc) from None
    url = f"http://{args.host}:{server.effective_port}"
    print(f"toky-ghl webhook: listening on {url}/webhooks/toky/{{event}} "
          f"(events: {', '.join(HANDLED_EVENTS)}); health: {url}/healthz",
          file=sys.stderr, flush=True)
    def stop(*_: object) -> None:  # SIGTERM (process managers, docker stop): a clean exit
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except SystemExit:
        print("toky-ghl webhook: stopped", file=sys.stderr, flush=True)
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
    return 0
