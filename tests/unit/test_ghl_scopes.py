"""Scope table and the check made before any GHL request."""

from __future__ import annotations

import pytest

from clients.ghl.errors import GhlScopeError
from clients.ghl.scopes import check_scope, has_scope, required_scope


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/contacts/abc", "contacts.readonly"),
        ("GET", "/contacts/", "contacts.readonly"),
        ("GET", "/contacts/abc/tasks/t1", "contacts.readonly"),
        ("GET", "/contacts/abc/appointments", "contacts.readonly"),
        ("GET", "/contacts/search/duplicate?locationId=x", "contacts.readonly"),
        ("GET", "/contacts/business/b1", "contacts.readonly"),
        ("POST", "/contacts/search", "contacts.readonly"),
        ("post", "/contacts/search/", "contacts.readonly"),
        ("POST", "/contacts/", "contacts.write"),
        ("POST", "/contacts/upsert", "contacts.write"),
        ("PUT", "/contacts/abc", "contacts.write"),
        ("DELETE", "/contacts/abc", "contacts.write"),
        ("POST", "/contacts/abc/tags", "contacts.write"),
        ("DELETE", "/contacts/abc/tags", "contacts.write"),
        ("PUT", "/contacts/abc/tasks/t1/completed", "contacts.write"),
        ("POST", "/contacts/abc/notes", "contacts.write"),
        ("GET", "/calendars/events/appointments/e1", "calendars/events.readonly"),
        ("POST", "/calendars/events/appointments", "calendars/events.write"),
        ("PUT", "/calendars/events/appointments/e1", "calendars/events.write"),
        ("GET", "/calendars/", "calendars.readonly"),
        ("GET", "/users/", "users.readonly"),
        ("GET", "/locations/loc1/customFields", "locations/customFields.readonly"),
        # apps/opportunities.json security entries
        ("GET", "/opportunities/search", "opportunities.readonly"),
        ("POST", "/opportunities/search", "opportunities.readonly"),
        ("POST", "/opportunities/", "opportunities.write"),
        ("PUT", "/opportunities/abc", "opportunities.write"),
        # apps/contacts.json: workflow, campaigns, followers are contacts.write
        ("POST", "/contacts/c1/workflow/w1", "contacts.write"),
        ("DELETE", "/contacts/c1/campaigns/k1", "contacts.write"),
        ("POST", "/contacts/c1/followers", "contacts.write"),
    ],
)
def test_required_scope_follows_the_table(method, path, scope):
    assert required_scope(method, path) == scope


def test_unknown_path_is_refused_rather_than_unchecked():
    with pytest.raises(ValueError, match="no GHL scope is known for GET /payments/x"):
        required_scope("GET", "/payments/x")


def test_a_contacts_lookalike_prefix_is_not_contacts():
    with pytest.raises(ValueError):
        required_scope("GET", "/contactsfoo")


@pytest.mark.parametrize(
    ("granted", "scope", "ok"),
    [
        ({"contacts.write"}, "contacts.readonly", False),
        ({"contacts.readonly", "contacts.write"}, "contacts.readonly", True),
        ({"contacts.readonly"}, "contacts.write", False),
        ({"calendars/events.write"}, "calendars/events.readonly", False),
        ({"calendars.write"}, "calendars/events.readonly", False),
        ({"users.readonly"}, "users.readonly", True),
        (set(), "users.readonly", False),
    ],
)
def test_scopes_are_taken_literally_as_the_reference_lists_them(granted, scope, ok):
    assert has_scope(granted, scope) is ok


def test_check_scope_returns_the_scope_when_granted():
    assert check_scope({"contacts.readonly"}, "GET", "/contacts/a") == "contacts.readonly"


def test_check_scope_raises_naming_the_missing_scope_and_the_call():
    # Given read-only scopes
    granted = frozenset({"contacts.readonly"})
    # When checking an appointment write
    with pytest.raises(GhlScopeError) as info:
        check_scope(granted, "post", "/calendars/events/appointments?x=1")
    # Then the missing scope and the call are named
    assert info.value.scope == "calendars/events.write"
    assert str(info.value) == (
        "GHL_SCOPES lacks calendars/events.write, needed for POST /calendars/events/appointments")
    assert (info.value.method, info.value.path) == ("POST", "/calendars/events/appointments")


def test_answers_kept_in_memory_are_the_table_s_and_refusals_are_never_kept():
    # Given the scope of a fixed path and of an id path asked once (answers kept)
    from clients.ghl import scopes

    required_scope.cache_clear()
    first = [required_scope("POST", "/contacts/upsert"), required_scope("GET", "/contacts/c9")]
    # When asked again / Then the same answers come from memory
    assert [required_scope("POST", "/contacts/upsert"),
            required_scope("GET", "/contacts/c9")] == first == ["contacts.write",
                                                                 "contacts.readonly"]
    assert required_scope.cache_info().hits == 2
    # and a path no rule knows is refused every time, not remembered as an answer
    for _ in range(2):
        with pytest.raises(ValueError, match="no GHL scope is known"):
            required_scope("GET", "/payments/x")
    # and the memory is bounded (paths with ids make room for each other)
    assert required_scope.cache_info().maxsize == scopes.SCOPE_CACHE_SIZE
    for n in range(scopes.SCOPE_CACHE_SIZE + 10):
        required_scope("GET", f"/contacts/c{n}")
    assert required_scope.cache_info().currsize == scopes.SCOPE_CACHE_SIZE


def test_granted_scopes_may_be_any_iterable():
    # Given the same grant as a frozenset, a list and a generator / Then each reads alike
    assert has_scope(frozenset({"contacts.write"}), "contacts.write")
    assert has_scope(["contacts.write"], "contacts.write")
    assert not has_scope((s for s in ["contacts.readonly"]), "contacts.write")
