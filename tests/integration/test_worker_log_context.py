"""A real worker's log: JSON lines; every line logged while a task runs (the pipeline's,
the GHL client's, Celery's own) carries the event id, type, Toky key, task id and GHL
location; the token never appears."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.harness import load_samples

pytestmark = pytest.mark.integration

CONTEXT = ("event_id", "event_type", "toky_key", "task_id", "location")
_TASK_LINE = re.compile(r"^Task toky_ghl\.apply_event\[([0-9a-f-]+)\] (succeeded|retry|raised)")


def test_every_line_of_a_task_carries_the_event_context(start_worker, pipeline, ghl):
    # Given a worker logging at DEBUG (every GHL request is a line)
    worker = start_worker(name="w1", LOG_LEVEL="DEBUG")
    samples = load_samples()
    # When it applies every contract sample (the contact delete last: see flower_support)
    deletes = [e for e in samples if e["type"] == "contact.deleted"]
    pipeline.enqueue([e for e in samples if e not in deletes])
    pipeline.wait_handled(len(samples) - len(deletes))
    pipeline.enqueue(deletes)
    pipeline.wait_handled(len(samples))
    worker.stop()
    log = worker.log()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    # Then the GHL client's request lines carry the full context of their task
    requests = [x for x in lines if x["event"] == "ghl.request"]
    assert len(requests) >= len(samples)
    # And so do the pipeline's outcome lines and Celery's own "succeeded" lines
    outcomes = [x for x in lines if x["event"].startswith("event ")]
    celery_done = [x for x in lines if _TASK_LINE.match(x["event"])]
    assert len(outcomes) == len(celery_done) == len(samples)
    ids = {s["id"] for s in samples}
    for line in requests + outcomes + celery_done:
        assert all(line.get(k) for k in CONTEXT), line
        assert line["event_id"] in ids
        assert line["location"] == ghl.location_id
    for line in celery_done:
        assert _TASK_LINE.match(line["event"]).group(1) == line["task_id"]
    # And the token is nowhere in the log
    assert ghl.token not in log
