"""``toky-ghl metrics [--address A] [--port P]``: the Prometheus exporter of the deployment."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from cli.commands.argtypes import port

DEFAULT_PORT = 9808

DESCRIPTION = """\
Serves GET /metrics in Prometheus' text format: events by type, outcome and
reason, the queue, retries and dead letters, the lag from occurred_at to GHL,
GHL requests (by method, route template and status, with durations and 429s),
the rate budget and auth pause of the location, webhook requests and poller
cycles. Every number is read from the shared Redis at each scrape, so one
exporter serves the whole deployment, whatever the number of workers and hosts.
"""

EPILOG = """\
The default address is 127.0.0.1 (loopback only); in docker-compose the
`metrics` service listens on 0.0.0.0 for Prometheus. Metric names and alerts:
README, "Monitoring"; docs/monitoring.md.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics", help="serve Prometheus metrics of the whole deployment (read from Redis)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--address", default="127.0.0.1",
                        help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT,
                        help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry, start_http_server

    from toky_ghl import logs
    from toky_ghl.metrics.collector import RedisCollector
    from toky_ghl.redis_conn import get_redis
    from toky_ghl.settings import get_settings

    settings = get_settings()
    logs.configure(settings.log_level)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(get_redis, settings))
    server, thread = start_http_server(args.port, addr=args.address, registry=registry)
    url = f"http://{args.address}:{server.server_port}/metrics"
    print(f"toky-ghl metrics: serving on {url}", file=sys.stderr, flush=True)
    stopped = threading.Event()

    def stop(*_: object) -> None:  # SIGTERM (process managers, docker stop): a clean exit
        stopped.set()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        signal.signal(signal.SIGTERM, previous)
    print("toky-ghl metrics: stopped", file=sys.stderr, flush=True)
    return 0
