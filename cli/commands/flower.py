"""``toky-ghl flower [--port P] [--address A] [--unauthenticated]``: the Flower dashboard.

The credentials never go on Flower's command line: Flower itself reads
``FLOWER_BASIC_AUTH`` from the environment (``flower/command.py``,
``apply_env_options``: every ``FLOWER_<OPTION>`` variable sets that option),
so the password stays out of the process list, and it is registered with the
log redaction before anything is logged.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cli.commands.argtypes import whole_number

#: The columns of Flower's tasks page: ``args`` is the event's label (``argsrepr``,
#: set by the producers: type, Toky key, event id; never the event's data).
TASKS_COLUMNS = "name,args,state,result,received,runtime,worker,retries,uuid"
#: How long Flower waits for workers to answer an inspect (worker pages, /api/workers), in ms.
INSPECT_TIMEOUT_MS = 3000

DESCRIPTION = """\
Serves Flower for the broker in REDIS_URL: workers, tasks (one per event,
labelled "TYPE KIND:KEY evt=ID"), retries and failures (dead letters), and
Prometheus metrics at /metrics. Requires FLOWER_BASIC_AUTH=user:password (HTTP
basic auth; several pairs separated by commas) unless --unauthenticated.
"""

EPILOG = """\
Open without credentials: /healthcheck (for load balancers) and /metrics (for
Prometheus: task counts and runtimes by task name and worker; no task
arguments). Everything else, the API (/api/workers, /api/tasks) included,
needs the credentials. Other FLOWER_* variables are Flower's own options
(e.g. FLOWER_PERSISTENT=true, FLOWER_URL_PREFIX=flower).
exit status: 0 stopped; 2 bad usage or configuration (no FLOWER_BASIC_AUTH).
"""

UNAUTHENTICATED_WARNING = """\
WARNING: Flower is starting WITHOUT authentication (--unauthenticated).
WARNING: anyone who can reach {url} can see every task and can shut down
WARNING: workers or revoke tasks. Set FLOWER_BASIC_AUTH=user:password instead."""


_port = whole_number(1, 65535, what="a port number")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flower", help="the Flower dashboard for the same broker (behind FLOWER_BASIC_AUTH)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=_port, default=5555,
                        help="port to listen on (default: 5555)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="interface to listen on (default: 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--unauthenticated", action="store_true",
                        help="start without FLOWER_BASIC_AUTH (warns; for a private machine)")
    parser.set_defaults(func=run)


def flower_argv(args: argparse.Namespace, log_level: str) -> list[str]:
    """Flower's command line: no credentials in it, ever."""
    tornado_level = {"CRITICAL": "error"}.get(log_level, log_level.lower())
    return ["flower", f"--port={args.port}", f"--address={args.address}",
            f"--tasks_columns={TASKS_COLUMNS}", f"--inspect_timeout={INSPECT_TIMEOUT_MS}",
            f"--logging={tornado_level}"]


def run(args: argparse.Namespace) -> int:
    from toky_ghl import logs
    from toky_ghl.settings import get_settings

    settings = get_settings()
    auth = settings.flower_basic_auth
    logs.register_settings_secrets(settings)
    logs.configure(settings.log_level)
    if auth:
        # Normalised (settings strip blanks); Flower reads it from here, not argv.
        os.environ["FLOWER_BASIC_AUTH"] = auth
    elif args.unauthenticated:
        os.environ.pop("FLOWER_BASIC_AUTH", None)  # "" would mean "a user with no name"
        url = f"http://{args.address}:{args.port}"
        print(UNAUTHENTICATED_WARNING.format(url=url), file=sys.stderr, flush=True)
        logs.get_logger("toky_ghl.flower").warning(
            "flower started without authentication", url=url)
    else:
        print("toky-ghl flower: FLOWER_BASIC_AUTH is not set: set it to user:password "
              "(or pass --unauthenticated on a private machine)", file=sys.stderr)
        return 2

    from cli.commands.ports import ensure_port_free
    from toky_ghl.redis_conn import require_redis

    require_redis(settings.redis_url)
    ensure_port_free(args.address, args.port)
    from worker.celery import app

    return int(app.start(argv=flower_argv(args, settings.log_level)) or 0)
