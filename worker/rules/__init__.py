"""Automations: rules (a trigger, conditions, actions) read from a file.

``run_rules(event, ctx)`` is what the pipeline calls for every event;
``load_rules(path)`` validates a file; ``ACTIONS`` and ``TRIGGERS`` are the
registry the engine, the validation and ``toky-ghl catalog`` all read.
See docs/automations.md.
"""

from worker.rules.actions import ACTIONS
from worker.rules.engine import active_rules, run_rules
from worker.rules.errors import RulesError, failed_where
from worker.rules.loader import RuleSet, default_rules, load_rules
from worker.rules.triggers import TRIGGERS

__all__ = ["ACTIONS", "TRIGGERS", "RuleSet", "RulesError", "active_rules", "default_rules",
           "failed_where", "load_rules", "run_rules"]
