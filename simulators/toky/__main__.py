"""``python -m simulators.toky [--host H] [--port P] [--api-key K] [--seed-demo]``."""

from __future__ import annotations

import argparse

from simulators.serve import serve_forever
from simulators.toky import TokySim, create_app, seed_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.toky",
                                     description="Serve the Toky simulator on HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--api-key", default="toky-sim-key",
                        help="the X-Toky-Key the simulator accepts")
    parser.add_argument("--seed-demo", action="store_true",
                        help="start with demo agents, contacts, calls, voicemails and SMS")
    args = parser.parse_args(argv)
    sim = TokySim(api_key=args.api_key)
    if args.seed_demo:
        seed_demo(sim)
    serve_forever(create_app(sim), host=args.host, port=args.port,
                  on_ready=lambda url: print(f"Toky simulator listening on {url}", flush=True))


if __name__ == "__main__":
    main()
