"""``move_opportunity``: the customer's opportunity in a pipeline put in a stage, or created there.

GHL's opportunities API (apps/opportunities.json): ``GET /opportunities/search``
(``location_id``, ``contact_id``, ``pipeline_id``; opportunities.readonly),
``PUT /opportunities/{id}`` (UpdateOpportunityDto) and ``POST /opportunities/``
(CreateDto: pipelineId, locationId, name, status, contactId required;
opportunities.write). The search first makes it idempotent: a create whose
answer was lost is found by the retry and moved, not made twice. n8n's HighLevel
v2 node (``description/OpportunityDescription.ts``) notes "There can only be one
opportunity for each contact" and "You cannot update an opportunity's pipeline
ID": so the update sends the stage and status only, and the first opportunity the
search finds is the contact's one.
"""

from __future__ import annotations

from typing import Any

from worker.rules.actions.base import Action, ActionRun
from worker.rules.actions.contacts import on_contact
from worker.rules.params import CHOICE, GHL_ID, NUMBER, TEXT, Param
from worker.sync.outcome import Outcome, Unprocessable

STATUSES = ("open", "won", "lost", "abandoned")  # CreateDto.status, less the filter value "all"


def _move(run: ActionRun) -> Outcome:
    params = run.params
    pipeline, stage = params["pipeline_id"].strip(), params["stage_id"].strip()
    if not pipeline or not stage:
        raise Unprocessable("move_opportunity: pipeline_id and stage_id must not be empty")
    fields: dict[str, Any] = {"pipelineStageId": stage, "status": params["status"]}
    if params.get("monetary_value") is not None:
        fields["monetaryValue"] = params["monetary_value"]
    client = run.ctx.client
    done: dict[str, str] = {}

    def write(contact_id: str) -> None:
        found = client.search_opportunities(contact_id=contact_id, pipeline_id=pipeline)
        if found:
            done["opportunity"] = found[0]["id"]
            client.update_opportunity(found[0]["id"], fields)  # never pipelineId (see above)
            done["how"] = "moved"
            return
        name = (params.get("name") or "").strip() or "Opportunity from Toky"
        made = client.create_opportunity({"pipelineId": pipeline, "name": name[:200],
                                          "contactId": contact_id, **fields})
        done["opportunity"], done["how"] = made["id"], "created"

    out = on_contact(run, write)
    return Outcome.applied(f"opportunity {done['how']} to stage {stage}",
                           opportunity=done["opportunity"], **out.ghl_ids)


OPPORTUNITY_ACTIONS: tuple[Action, ...] = (
    Action("move_opportunity", "the customer's opportunity in a pipeline moved to a stage "
           "(created there when the contact has none in that pipeline)",
           ("GET /opportunities/search", "PUT /opportunities/{id}", "POST /opportunities/"),
           ("opportunities.readonly", "opportunities.write"),
           (Param("pipeline_id", GHL_ID, "the GHL pipeline id", required=True),
            Param("stage_id", GHL_ID, "the pipeline stage id (pipelineStageId)", required=True),
            Param("name", TEXT, "the name of a new opportunity (template)",
                  default="{{ data.contact_name or data.from_number or data.phone }}"),
            Param("status", CHOICE, "the opportunity's status", default="open",
                  choices=STATUSES),
            Param("monetary_value", NUMBER, "its value")),
           "the contact's opportunity in the pipeline is looked up first: a retry moves the "
           "one a lost answer created instead of making another", _move),
)
