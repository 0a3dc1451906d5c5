"""``toky-ghl try RULES SAMPLE.ndjson``: which rules fire, and what they would send."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Loads the rules file RULES (YAML or JSON, as AUTOMATIONS; a bad rule stops with
exit status 2 and names it, e.g. rules[3].do[1].due_in), then runs each event
of SAMPLE.ndjson through the rules engine and prints, per event, the rules'
actions that fire and the GHL requests they WOULD send (method, path, JSON
body), and the outcome. Nothing is sent to GHL and the deployment's Redis is
not touched: answers come from an in-process GHL simulator and state from a
throwaway embedded Redis, so later events see what earlier ones made (a
contact tagged by an earlier line is tagged for a later line's condition).
"""

EPILOG = """\
Reads: FIELD_MAP (or --map), GHL_LOCATION_ID and GHL_CALENDAR_ID (when set,
they appear in the requests), GHL_SCOPES (--check-scopes: a rule whose action
needs a scope GHL_SCOPES lacks is an error, as at the worker's start-up).
Every scope is granted in the dry run otherwise. Lines marked (read) are reads.
exit status: 0 every event ran; 1 some line was invalid or some event would be
dead-lettered; 2 bad usage, a bad rules file or field map, an unreadable file.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "try", help="show which rules fire for sample events and the GHL requests they "
                    "would send", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rules_file", metavar="RULES", help="the rules file (YAML or JSON)")
    parser.add_argument("sample", metavar="SAMPLE.ndjson",
                        help="events, one JSON object a line ('-': standard input)")
    parser.add_argument("--map", metavar="FILE", help="field map (default: FIELD_MAP, else "
                                                      "the built-in one)")
    parser.add_argument("--check-scopes", action="store_true",
                        help="validate the rules against GHL_SCOPES too")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per event instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.commands.check_map import report_samples
    from toky_ghl.settings import get_settings
    from worker.dryrun import DryRun
    from worker.fieldmap import load_field_map
    from worker.rules import load_rules

    settings = get_settings()
    rules = load_rules(args.rules_file,  # RulesError (a ConfigError) → exit 2, naming the rule
                       granted=settings.ghl_scopes if args.check_scopes else None)
    field_map = load_field_map(args.map or settings.field_map)
    return report_samples("try", args.sample, args.json,
                          lambda: DryRun(settings, field_map, rules))
