"""task.created / updated / completed / deleted."""

from __future__ import annotations

import pytest

from tests.unit.sync_support import apply, apply_counting, event, make_context, samples
from worker.idmap import IdMap
from worker.sync.outcome import Deferred

PHONE = "+14155550134"
AGENTS = {"agents": {"sam@company.test": "u-sam"}}


def _ctx_with_contact(**kwargs):
    ctx = make_context(**kwargs)
    apply(samples()["s-001"], ctx)
    return ctx


def test_task_created_with_every_field() -> None:
    # Given a known contact and an agent map
    ctx = _ctx_with_contact(field_map=AGENTS)
    # When s-008 is applied
    outcome, calls = apply_counting(samples()["s-008"], ctx)
    # Then one create with the contract's fields
    assert calls == ["create_task"]
    (task,) = ctx.client.tasks.values()
    assert {k: task[k] for k in ("title", "dueDate", "completed", "assignedTo")} == {
        "title": "Send proposal", "dueDate": "2026-11-04T17:00:00Z", "completed": False,
        "assignedTo": "u-sam"}
    assert task["body"] == "Include the Q1 discount\n\n[toky:task:tk-77]"
    assert outcome.ghl_ids["task"] == task["id"]


def test_task_completed_uses_the_completed_endpoint() -> None:
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    outcome, calls = apply_counting(samples()["s-009"], ctx)
    assert calls == ["complete_task"]
    assert next(iter(ctx.client.tasks.values()))["completed"] is True
    assert outcome.detail == "task completed"


def test_task_completed_false_reopens() -> None:
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    apply(event("task.completed", {"task_id": "tk-77", "phone": PHONE, "completed": False}), ctx)
    assert ctx.client.payloads[-1] == ("complete_task", {"completed": False})


def test_task_completed_before_its_task_is_deferred() -> None:
    # Given no task.created applied yet
    ctx = _ctx_with_contact()
    # When task.completed arrives first / Then it waits (retried later), nothing sent
    with pytest.raises(Deferred, match="task:tk-77"):
        apply(samples()["s-009"], ctx)
    assert ctx.client.count("complete_task") == 0


def test_task_updated_sends_the_changes_with_the_current_title_as_n8n_does() -> None:
    # Given a task made in GHL, then a change of its due date only
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    _, calls = apply_counting(event("task.updated", {
        "task_id": "tk-77", "phone": PHONE, "due_date": "2026-11-05T09:30:00.250Z"}), ctx)
    # Then the task is read first and the update carries its title and the new due date
    # (n8n's HighLevel node always sends both on PUT …/tasks/{id})
    assert calls == ["get_task", "update_task"]
    assert ctx.client.payloads[-1] == ("update_task", {"dueDate": "2026-11-05T09:30:00Z",
                                                       "title": "Send proposal"})
    assert next(iter(ctx.client.tasks.values()))["title"] == "Send proposal"


def test_task_update_with_title_and_due_date_reads_nothing_first() -> None:
    # Given a task, then a change that gives both title and due date
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    _, calls = apply_counting(event("task.updated", {
        "task_id": "tk-77", "phone": PHONE, "title": "Call again",
        "due_date": "2026-11-06T10:00:00Z"}), ctx)
    # Then one PUT, no read
    assert calls == ["update_task"]
    assert ctx.client.payloads[-1] == ("update_task", {"dueDate": "2026-11-06T10:00:00Z",
                                                       "title": "Call again"})


def test_task_update_keeps_the_due_date_ghl_answered_to_the_second() -> None:
    # Given a task whose due date GHL answers with milliseconds, then a title change
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    task = next(iter(ctx.client.tasks.values()))
    task["dueDate"] = "2026-11-07T08:15:30.000Z"
    apply(event("task.updated", {"task_id": "tk-77", "phone": PHONE, "title": "New"}), ctx)
    # Then the update sends that due date without milliseconds
    assert ctx.client.payloads[-1] == ("update_task", {"title": "New",
                                                       "dueDate": "2026-11-07T08:15:30Z"})


def test_task_updated_with_nothing_to_change_sends_nothing() -> None:
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    outcome, calls = apply_counting(
        event("task.updated", {"task_id": "tk-77", "phone": PHONE}), ctx)
    assert calls == [] and outcome.status == "skipped"


def test_task_updated_before_created_makes_the_task() -> None:
    ctx = _ctx_with_contact()
    ev = event("task.updated", {"task_id": "tk-9", "phone": PHONE, "title": "Ship it"},
               occurred_at="2026-11-03T10:00:00Z")
    _, calls = apply_counting(ev, ctx)
    assert calls == ["create_task"]
    (task,) = ctx.client.tasks.values()
    assert (task["title"], task["dueDate"], task["completed"]) == \
        ("Ship it", "2026-11-03T10:00:00Z", False)


def test_task_for_an_unknown_phone_makes_the_contact_first() -> None:
    ctx = make_context()
    _, calls = apply_counting(samples()["s-008"], ctx)
    assert calls == ["upsert_contact", "create_task"]
    contact = ctx.client.contact_by_phone(PHONE)
    assert len(ctx.client.tasks_of(contact["id"])) == 1


def test_task_deleted_paths() -> None:
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    deleted = event("task.deleted", {"task_id": "tk-77", "phone": PHONE})
    # When deleted: one DELETE, gone, unmapped
    outcome, calls = apply_counting(deleted, ctx)
    assert calls == ["delete_task"] and outcome.status == "applied"
    assert ctx.client.tasks == {} and IdMap.for_context(ctx).get("task:tk-77") is None
    # When deleted again: nothing to do
    outcome, calls = apply_counting(deleted, ctx)
    assert calls == [] and outcome.status == "skipped"


def test_task_delete_404_means_already_gone() -> None:
    ctx = _ctx_with_contact()
    apply(samples()["s-008"], ctx)
    ctx.client.tasks.clear()
    outcome, calls = apply_counting(
        event("task.deleted", {"task_id": "tk-77", "phone": PHONE}), ctx)
    assert calls == ["delete_task"]
    assert outcome.status == "applied" and "already gone" in outcome.detail
