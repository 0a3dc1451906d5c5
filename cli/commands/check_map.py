"""``toky-ghl check-map FILE SAMPLE.ndjson``: the GHL requests a field map would produce."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DESCRIPTION = """\
Loads the field map FILE (YAML or JSON; a bad entry stops with exit status 2
and names it), then runs each event of SAMPLE.ndjson through the worker's own
pipeline and prints, per event, the requests it WOULD send (method, path, JSON
body) and the decision a worker would reach (applied, skipped, dead_lettered
with its reason, retry), with this deployment's settings: GHL_SCOPES,
GHL_CALENDAR_ID (unset: appointments are dead-lettered), TOKY_API_KEY (unset:
GHL -> Toky mirror events are dead-lettered). Nothing is sent to GHL or Toky and
the deployment's Redis is not touched: answers come from in-process simulators
and state from a throwaway embedded Redis, so later events see what earlier
ones made (and an older event after a newer one is skipped, as in a worker).
"""

EPILOG = """\
Reads: GHL_LOCATION_ID and GHL_CALENDAR_ID (they appear in the requests),
GHL_SCOPES, TOKY_API_KEY, FOLLOWUP_DUE_MINUTES; log lines go to stderr at
LOG_LEVEL. Lines marked (read) are reads; the others write; "Toky:" lines are
what a worker would send to Toky for a mirror event.
exit status: 0 every event ran; 1 some line was invalid or some event would be
dead-lettered; 2 bad usage, a bad field map, or an unreadable file.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-map", help="show the GHL requests a field map would produce for sample events",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("map_file", metavar="FILE", help="the field map (YAML or JSON)")
    parser.add_argument("sample", metavar="SAMPLE.ndjson",
                        help="events, one JSON object a line ('-': standard input)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per event instead of text")
    parser.add_argument("--all-scopes", action="store_true",
                        help="grant every scope instead of GHL_SCOPES (to see every request "
                             "the map produces before the scopes are granted)")
    parser.set_defaults(func=run)


def _print_text(number: int, label: str, result: Any) -> None:
    print(f"line {number}: {label}")
    for fired in getattr(result, "fired", []):
        print(f"  fires {fired}")
    for req in result.requests:
        api = "" if req.api == "GHL" else f"{req.api}: "
        print(f"  {api}{req.method} {req.path}" + ("" if req.is_write else "   (read)"))
        if req.body is not None:
            body = json.dumps(req.body, indent=2, ensure_ascii=False, sort_keys=True)
            print("\n".join("      " + line for line in body.splitlines()))
    print(f"  => {result.kind}: {result.detail}\n")


def _print_json(number: int, event_id: str, label: str, result: Any) -> None:
    print(json.dumps({
        "line": number, "id": event_id, "label": label, "outcome": result.kind,
        "detail": result.detail, "fired": getattr(result, "fired", []),
        "requests": [{"api": r.api, "method": r.method, "path": r.path, "body": r.body,
                      "status": r.status} for r in result.requests],
    }, ensure_ascii=False))


def _lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    with open(path, encoding="utf-8") as stream:
        return stream.read().splitlines()


def run(args: argparse.Namespace) -> int:
    from toky_ghl.settings import get_settings
    from worker.dryrun import DryRun
    from worker.fieldmap import load_field_map

    settings = get_settings()  # stdout is the report; log lines go to stderr (cli.main)
    field_map = load_field_map(args.map_file)  # ConfigError → exit 2, naming the entry
    # The worker's decisions: GHL_SCOPES (unless --all-scopes) and GHL_CALENDAR_ID as set.
    return report_samples(
        "check-map", args.sample, args.json,
        lambda: DryRun(settings, field_map, all_scopes=args.all_scopes, calendar_fallback=False))


def report_samples(command: str, sample: str, as_json: bool, make_dry_run: Any) -> int:
    """Run each event of the NDJSON file ``sample`` through a dry run made by
    ``make_dry_run`` and print what it would do (``check-map`` and ``try``).

    Exit status: 0 every event ran; 1 some line was invalid or some event would be
    dead-lettered; 2 the file cannot be read.
    """
    from contract import strict_json
    from contract.events import InvalidEvent, event_label, validate_event

    try:
        lines = _lines(sample)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"toky-ghl {command}: cannot read {sample!r}: {exc}", file=sys.stderr)
        return 2
    dry = make_dry_run()
    problems = 0
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = validate_event(strict_json.loads(line))
            except (ValueError, InvalidEvent) as exc:
                print(f"line {number}: invalid: {exc}", file=sys.stderr)
                problems += 1
                continue
            result = dry.apply(event)
            problems += result.kind == "dead_lettered"
            if as_json:
                _print_json(number, event["id"], event_label(event), result)
            else:
                _print_text(number, event_label(event), result)
    finally:
        dry.close()
    return 1 if problems else 0
