"""The registry of actions: one place the engine, the validation and the catalogue read."""

from __future__ import annotations

from worker.rules.actions.base import TOKY_API_KEY, Action, ActionRun
from worker.rules.actions.children import CHILD_ACTIONS
from worker.rules.actions.contacts import CONTACT_ACTIONS
from worker.rules.actions.contract import CONTRACT_ACTIONS
from worker.rules.actions.opportunities import OPPORTUNITY_ACTIONS
from worker.rules.actions.updates import UPDATE_ACTIONS

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (*CONTRACT_ACTIONS, *CONTACT_ACTIONS, *CHILD_ACTIONS, *UPDATE_ACTIONS,
                   *OPPORTUNITY_ACTIONS)
}

__all__ = ["ACTIONS", "TOKY_API_KEY", "Action", "ActionRun"]
