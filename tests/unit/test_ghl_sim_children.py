"""GHL simulator: a contact's tasks, notes and tags (reference: Endpoints, Objects)."""

from __future__ import annotations

import pytest

from simulators.ghl import GhlSim
from simulators.ghl.testing import GhlTestClient, make_api

LOC = "locAAAAAAAAAAAAAAAAA"
DUE = "2026-12-01T15:00:00Z"


@pytest.fixture
def api() -> GhlTestClient:
    return make_api(LOC)


@pytest.fixture
def sim(api: GhlTestClient) -> GhlSim:
    return api.sim


@pytest.fixture
def contact_id(api: GhlTestClient) -> str:
    answer = api.post("/contacts/", {"locationId": LOC, "email": "a@example.com", "tags": ["a"]})
    return answer.json["contact"]["id"]


def _task(api, contact_id, **fields) -> dict:
    body = {"title": "Call back", "dueDate": DUE, "completed": False, **fields}
    answer = api.post(f"/contacts/{contact_id}/tasks", body)
    assert answer.status_code == 201, answer.json
    return answer.json["task"]


# -- tasks -------------------------------------------------------------------------
def test_create_task_answers_201_with_the_task(api, contact_id):
    answer = api.post(f"/contacts/{contact_id}/tasks",
                      {"title": "Call back", "body": "toky:task:1", "dueDate": DUE,
                       "completed": False, "assignedTo": "user1"})
    assert answer.status_code == 201
    task = answer.json["task"]
    assert task["title"] == "Call back" and task["body"] == "toky:task:1"
    assert task["dueDate"] == "2026-12-01T15:00:00.000Z"
    assert task["completed"] is False and task["assignedTo"] == "user1"
    assert task["contactId"] == contact_id and len(task["id"]) == 20


def test_create_task_names_every_missing_required_field(api, contact_id, sim):
    answer = api.post(f"/contacts/{contact_id}/tasks", {"body": "x"})
    assert answer.status_code == 422
    assert answer.json["message"] == ["title should not be empty", "dueDate should not be empty",
                                      "completed must be a boolean value"]
    assert sim.state()["locations"][LOC]["tasks"] == []


@pytest.mark.parametrize("due", ["2026-12-01T15:00:00.000Z", "2026-12-01T15:00:00+00:00",
                                 "2026-12-01"])
def test_update_task_refuses_due_dates_not_in_whole_seconds_utc(api, contact_id, due):
    task = _task(api, contact_id)
    answer = api.put(f"/contacts/{contact_id}/tasks/{task['id']}", {"dueDate": due})
    assert answer.status_code == 422
    assert any("dueDate" in m for m in answer.json["message"])


def test_list_get_update_complete_and_delete_a_task(api, contact_id):
    task = _task(api, contact_id)
    listed = api.get(f"/contacts/{contact_id}/tasks")
    assert listed.status_code == 200 and listed.json == {"tasks": [task]}
    got = api.get(f"/contacts/{contact_id}/tasks/{task['id']}")
    assert got.status_code == 200 and got.json == {"task": task}
    updated = api.put(f"/contacts/{contact_id}/tasks/{task['id']}",
                      {"title": "Call again", "dueDate": "2026-12-02T09:30:00Z"})
    assert updated.status_code == 200
    assert updated.json["task"]["title"] == "Call again"
    assert updated.json["task"]["dueDate"] == "2026-12-02T09:30:00.000Z"
    done = api.put(f"/contacts/{contact_id}/tasks/{task['id']}/completed", {"completed": True})
    assert done.status_code == 200 and done.json["task"]["completed"] is True
    gone = api.delete(f"/contacts/{contact_id}/tasks/{task['id']}")
    assert gone.status_code == 200 and gone.json == {"succeded": True}
    assert api.get(f"/contacts/{contact_id}/tasks/{task['id']}").status_code == 404


def test_completed_endpoint_accepts_only_completed(api, contact_id):
    task = _task(api, contact_id)
    answer = api.put(f"/contacts/{contact_id}/tasks/{task['id']}/completed",
                     {"completed": True, "title": "x"})
    assert answer.status_code == 422
    assert answer.json["message"] == ["property title should not exist"]


def test_a_task_is_found_only_under_its_own_contact(api, contact_id):
    task = _task(api, contact_id)
    other = api.post("/contacts/", {"locationId": LOC, "email": "b@example.com"})
    other_id = other.json["contact"]["id"]
    assert api.get(f"/contacts/{other_id}/tasks/{task['id']}").status_code == 404
    assert api.get(f"/contacts/{other_id}/tasks").json == {"tasks": []}


def test_tasks_of_an_unknown_contact_are_404(api):
    assert api.post("/contacts/nobody/tasks", {"title": "t", "dueDate": DUE,
                                               "completed": False}).status_code == 404


# -- notes -------------------------------------------------------------------------
def test_create_note_answers_201_with_the_note(api, contact_id):
    answer = api.post(f"/contacts/{contact_id}/notes",
                      {"body": "Call ended", "userId": "user1", "title": "Call", "pinned": True})
    assert answer.status_code == 201
    note = answer.json["note"]
    assert note["body"] == "Call ended" and note["userId"] == "user1"
    assert note["contactId"] == contact_id and note["dateAdded"].endswith("Z")
    assert note["pinned"] is True and len(note["id"]) == 20


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "body should not be empty"), ({"body": "x", "color": 3}, "color must be a string"),
     ({"body": "x", "contactId": "y"}, "property contactId should not exist")],
)
def test_create_note_validates(api, contact_id, body, message):
    answer = api.post(f"/contacts/{contact_id}/notes", body)
    assert answer.status_code == 422
    assert message in answer.json["message"]


def test_list_get_update_and_delete_a_note(api, contact_id):
    note = api.post(f"/contacts/{contact_id}/notes", {"body": "one"}).json["note"]
    assert api.get(f"/contacts/{contact_id}/notes").json == {"notes": [note]}
    assert api.get(f"/contacts/{contact_id}/notes/{note['id']}").json == {"note": note}
    updated = api.put(f"/contacts/{contact_id}/notes/{note['id']}", {"body": "two"})
    assert updated.status_code == 200 and updated.json["note"]["body"] == "two"
    gone = api.delete(f"/contacts/{contact_id}/notes/{note['id']}")
    assert gone.status_code == 200 and gone.json == {"succeded": True}
    assert api.get(f"/contacts/{contact_id}/notes").json == {"notes": []}


# -- tags --------------------------------------------------------------------------
def test_add_tags_answers_201_with_the_contacts_tags_after(api, contact_id):
    answer = api.post(f"/contacts/{contact_id}/tags", {"tags": ["b", "a", "b"]})
    assert answer.status_code == 201
    assert answer.json == {"tags": ["a", "b"]}
    assert api.get(f"/contacts/{contact_id}").json["contact"]["tags"] == ["a", "b"]


def test_remove_tags_answers_200_with_the_tags_left(api, contact_id):
    api.post(f"/contacts/{contact_id}/tags", {"tags": ["b", "c"]})
    answer = api.delete(f"/contacts/{contact_id}/tags", {"tags": ["a", "c", "zzz"]})
    assert answer.status_code == 200
    assert answer.json == {"tags": ["b"]}


def test_tags_need_a_list_of_strings(api, contact_id):
    assert api.post(f"/contacts/{contact_id}/tags", {}).json["message"] == [
        "tags should not be empty"]
    assert api.post(f"/contacts/{contact_id}/tags", {"tags": [1]}).json["message"] == [
        "each value in tags must be a string"]
