"""``toky-ghl sandbox``: the GHL and Toky simulators alone, to test a deployment against."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from typing import Any

from cli.commands.argtypes import port

DESCRIPTION = """\
Serves the GHL simulator (a demo location with a token holding every scope, a
calendar and two users) and the Toky simulator (demo agents, contacts, calls,
a voicemail and SMS), and prints the environment that points a deployment at
them: paste the export lines into the shell or env file of `toky-ghl worker`,
`toky-ghl poll`, ... and test before going live. Nothing is kept: every start
is a fresh sandbox. Ctrl-C stops.
"""

EPILOG = """\
The simulators' state is at GHL_API_BASE/_sim/state (contacts, notes, tasks and
appointments as GHL would hold them) and TOKY_API_BASE/_sim/state.
exit status: 0 stopped with Ctrl-C or SIGTERM; 2 bad usage or a port in use.
"""

TOKY_SIM_KEY = "toky-sim-key"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="serve the GHL and Toky simulators and print the environment for them",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--ghl-port", type=port, default=0,
                        help="port of the GHL simulator (default: 0, any free port)")
    parser.add_argument("--toky-port", type=port, default=0,
                        help="port of the Toky simulator (default: 0, any free port)")
    parser.set_defaults(func=run)


def environment(ghl_url: str, toky_url: str) -> dict[str, str]:
    """The variables that point toky-ghl at the simulators (the sandbox's own token and key)."""
    from simulators.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_SCOPES, DEMO_TOKEN

    return {"GHL_API_BASE": ghl_url, "GHL_TOKEN": DEMO_TOKEN, "GHL_LOCATION_ID": DEMO_LOCATION,
            "GHL_CALENDAR_ID": DEMO_CALENDAR, "GHL_SCOPES": " ".join(DEMO_SCOPES),
            "TOKY_API_BASE": toky_url, "TOKY_API_KEY": TOKY_SIM_KEY}


def _public(url: str, host: str) -> str:
    """A URL clients can use: a wildcard address becomes loopback."""
    return url.replace(f"//{host}:", "//127.0.0.1:") if host in ("0.0.0.0", "::") else url


def run(args: argparse.Namespace) -> int:
    from simulators import toky
    from simulators.ghl.app import create_app as ghl_app
    from simulators.ghl.demo import seed_demo as seed_ghl
    from simulators.ghl.sim import GhlSim
    from simulators.serve import serve_in_thread

    ghl_sim = GhlSim()
    seed_ghl(ghl_sim)
    toky_sim = toky.TokySim(api_key=TOKY_SIM_KEY)
    seeded = toky.seed_demo(toky_sim)
    try:
        ghl = serve_in_thread(ghl_app(ghl_sim), host=args.host, port=args.ghl_port)
        tk = serve_in_thread(toky.create_app(toky_sim), host=args.host, port=args.toky_port)
    except OSError as exc:
        print(f"toky-ghl sandbox: cannot listen on {args.host}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"# toky-ghl sandbox: GHL simulator on {ghl.url}, Toky simulator on {tk.url} "
              f"({', '.join(f'{n} {k}' for k, n in seeded.items())})")
        print("# point a deployment at them (these are the sandbox's own credentials):")
        for name, value in environment(_public(ghl.url, args.host),
                                       _public(tk.url, args.host)).items():
            print(f"export {name}={shlex.quote(value)}")
        print("# Ctrl-C stops the sandbox.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        ghl.stop()
        tk.stop()
    print("# sandbox stopped", file=sys.stderr)
    return 0
