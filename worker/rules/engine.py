"""Run the rules for one event: which rules fire, then their actions in order.

Guarantees, per action (``<event id>:<rule>:<position>`` is its key):

- actions of one event run in the order of the rules, then of each rule's ``do``;
- when one fails, the exception carries which rule and action it was (the dead
  letter names them) and propagates: the ones before it stay applied, the ones
  after it are not tried;
- each applied action is recorded (``Completions``) when the event has more
  than one action to run, so a retry or a replay runs only those not applied yet;
  a rule with several actions, once started, is finished even if its condition
  reads differently on the retry.

With a single action for the event (the built-in rules: one per event type)
nothing is recorded: the pipeline's record of the handled event id covers it,
so the default path costs no Redis round trip more than before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from clients.ghl.errors import GhlNotFoundError
from contract.events import Event, customer_phone
from worker.rules.actions import ActionRun
from worker.rules.completions import Completions
from worker.rules.conditions import Facts
from worker.rules.errors import mark_where
from worker.rules.loader import RuleSet, load_rules
from worker.sync.context import SyncContext
from worker.sync.ensure_contact import find_contact
from worker.sync.outcome import Outcome, Status

if TYPE_CHECKING:
    from toky_ghl.settings import Settings

_lock = threading.Lock()
_loaded: dict[tuple[Any, ...], RuleSet] = {}


def active_rules(settings: Settings) -> RuleSet:
    """The rules of ``AUTOMATIONS`` (the built-in ones when unset), loaded and validated
    once per file and granted scopes; ``RulesError`` names what is wrong."""
    path = getattr(settings, "automations", None)
    key = (path, frozenset(settings.ghl_scopes))
    with _lock:
        if key not in _loaded:
            _loaded[key] = load_rules(path, granted=frozenset(settings.ghl_scopes))
        return _loaded[key]


def contact_tags(event: Event, ctx: SyncContext) -> list[str]:
    """The tags GHL holds on the customer's contact now ([] when GHL has none)."""
    phone = customer_phone(event)
    if not phone:
        return []
    contact_id = find_contact(phone, ctx)
    if contact_id is None:
        return []
    try:
        tags = ctx.client.get_contact(contact_id).get("tags")
    except GhlNotFoundError:
        return []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def run_rules(event: Event, ctx: SyncContext, rules: RuleSet | None = None, *,
              fired: list[str] | None = None) -> Outcome:
    """Apply ``event`` through ``rules`` (None: ``active_rules(ctx.settings)``).

    ``fired``, when given, receives ``"rule 'R' do[i] ACTION"`` for each action run
    (dry runs show it)."""
    rules = rules if rules is not None else active_rules(ctx.settings)
    candidates = rules.for_event(event["type"])
    completions = Completions(ctx.redis, ctx.settings.key_prefix)
    multi = [r.rid for r in candidates if len(r.actions) > 1]
    started = completions.started(event["id"], multi)
    facts = Facts(event["data"], lambda: contact_tags(event, ctx))
    matched = [r for r in candidates if r.rid in started or r.matches(facts)]
    planned = [(rule, action, f"{event['id']}:{rule.rid}:{action.position}")
               for rule in matched for action in rule.actions]
    if not planned:
        return Outcome.skipped("no rule matched")
    tracked = len(planned) > 1
    done = completions.done([key for *_, key in planned]) if tracked else set()
    outcomes: list[tuple[str, Outcome]] = []
    for rule, compiled, key in planned:
        where = f"rule '{rule.rid}' do[{compiled.position}] {compiled.action.name}"
        if fired is not None:
            fired.append(where)
        if key in done:
            outcomes.append((where, Outcome.skipped("applied by an earlier attempt")))
            continue
        if len(rule.actions) > 1 and rule.rid not in started:
            completions.mark_started(event["id"], rule.rid)
            started.add(rule.rid)
        try:
            params = compiled.params(rule.variables(event))
            outcome = compiled.action.run(ActionRun(event, ctx, params, key, rule.rid))
        except Exception as exc:
            mark_where(exc, where)
            raise
        if tracked:
            completions.mark_done(key, outcome.status)
        ctx.log.debug("action done", rule=rule.rid, action=compiled.action.name,
                      status=outcome.status, detail=outcome.detail)
        outcomes.append((where, outcome))
    return _combined(outcomes)


def _combined(outcomes: list[tuple[str, Outcome]]) -> Outcome:
    if len(outcomes) == 1:
        return outcomes[0][1]
    ghl_ids: dict[str, str] = {}
    for _, outcome in outcomes:
        ghl_ids.update(outcome.ghl_ids)
    status = (Status.APPLIED if any(o.status is Status.APPLIED for _, o in outcomes)
              else Status.SKIPPED)
    detail = "; ".join(f"{where}: {o.detail}" for where, o in outcomes)
    return Outcome(status, detail, ghl_ids)
