"""A real worker's log: JSON lines; every line logged while a task runs (the pipeline's,
the GHL client's, Celery's own) carries the event id, type, Toky key, task id and GHL
location; the token never appears. Holds whatever the retries: lines are checked per
event, never counted."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.harness import load_samples

pytestmark = pytest.mark.integration

CONTEXT = ("event_id", "event_type", "toky_key", "task_id", "location")
_TASK_LINE = re.compile(r"^Task toky_ghl\.apply_event\[([0-9a-f-]+)\] (succeeded|retry|raised)")


@pytest.mark.parametrize("error_rate", [0.0, 0.3], ids=["no faults", "GHL fails 30%"])
def test_every_line_of_a_task_carries_the_event_context(start_worker, pipeline, ghl,
                                                        error_rate):
    # Given a worker logging at DEBUG (every GHL request is a line), and GHL failing some
    # requests with a 5xx (then tasks are retried: more lines of the same events)
    ghl.sim.update_config(error_rate=error_rate, seed=11)
    worker = start_worker(name="w1", LOG_LEVEL="DEBUG")
    samples = load_samples()
    # When it applies every contract sample (the contact delete last: see flower_support)
    deletes = [e for e in samples if e["type"] == "contact.deleted"]
    pipeline.enqueue([e for e in samples if e not in deletes])
    pipeline.wait_finished([e["id"] for e in samples if e not in deletes], timeout_s=180)
    pipeline.enqueue(deletes)
    pipeline.wait_finished([e["id"] for e in samples], timeout_s=180)
    worker.stop()
    if error_rate:  # the faults did happen: some tasks were run more than once
        assert ghl.sim.stats_snapshot()["injected_5xx"] > 0
    log = worker.log()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    # Then the GHL client's request lines carry the full context of their task
    requests = [x for x in lines if x["event"] == "ghl.request"]
    assert len(requests) >= len(samples)
    # And so do the pipeline's outcome lines and Celery's own task lines. Counted per event,
    # not per line: under load a task may be retried or re-delivered, which adds lines
    # (an outcome, a "retry", a second "succeeded") without changing what must hold.
    outcomes = [x for x in lines if x["event"].startswith("event ")]
    celery_lines = [x for x in lines if _TASK_LINE.match(x["event"])]
    ids = {s["id"] for s in samples}
    for line in requests + outcomes + celery_lines:
        assert all(line.get(k) for k in CONTEXT), line
        assert line["event_id"] in ids
        assert line["location"] == ghl.location_id
    for line in celery_lines:
        assert _TASK_LINE.match(line["event"]).group(1) == line["task_id"]
    # And every event has its outcome line and Celery's "succeeded" line
    succeeded = [x for x in celery_lines if _TASK_LINE.match(x["event"]).group(2) == "succeeded"]
    assert {x["event_id"] for x in outcomes} == ids
    assert {x["event_id"] for x in succeeded} == ids
    # And the token is nowhere in the log
    assert ghl.token not in log
