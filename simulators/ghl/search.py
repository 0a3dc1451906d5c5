"""POST /contacts/search: free text, simple filters, sort, page or searchAfter.

The search body is not in the official spec; its fields follow GHL's search
documentation (``locationId``, ``pageLimit``, ``page`` or ``searchAfter``,
``filters``, ``sort``, ``query``). The simulator supports the operators
``eq``, ``not_eq``, ``contains``, ``not_contains``, ``exists``, ``not_exists`` on
top-level contact fields, and AND/OR groups; anything else is a ValueError
(answered 422) rather than a filter silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from simulators.ghl.contacts import matches_query, normalise_phone
from simulators.ghl.records import epoch_ms

MAX_PAGE_LIMIT = 500
SORT_FIELDS = ("dateAdded", "dateUpdated")


def _comparable(field: str, value: Any) -> Any:
    if isinstance(value, str):
        return (normalise_phone(value) if field == "phone" else value).lower()
    return value


def _equals(field: str, actual: Any, wanted: Any) -> bool:
    wanted = _comparable(field, wanted)
    if isinstance(actual, list):
        return any(_comparable(field, item) == wanted for item in actual)
    return cast(bool, _comparable(field, actual) == wanted)


def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, list):
        return any(str(wanted).lower() in str(item).lower() for item in actual)
    return actual is not None and str(wanted).lower() in str(actual).lower()


_OPERATORS = ("eq", "not_eq", "contains", "not_contains", "exists", "not_exists")


def check_filter(spec: Any) -> None:
    """ValueError naming what the simulator cannot evaluate in one filter or group."""
    if not isinstance(spec, dict):
        raise ValueError("each value in filters must be an object")
    if "group" in spec:
        if str(spec["group"]).upper() not in ("AND", "OR"):
            raise ValueError("filters.group must be one of the following values: AND, OR")
        for sub in spec.get("filters") or []:
            check_filter(sub)
        return
    if not isinstance(spec.get("field"), str) or not spec["field"]:
        raise ValueError("filters.field should not be empty")
    if spec.get("operator") not in _OPERATORS:
        raise ValueError(
            f"filters.operator {spec.get('operator')!r} is not supported by the simulator")


def filter_matches(contact: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether ``contact`` passes one filter or group already checked by ``check_filter``."""
    if "group" in spec:
        results = [filter_matches(contact, sub) for sub in spec.get("filters") or []]
        return all(results) if str(spec["group"]).upper() == "AND" else any(results)
    field, operator, wanted = spec["field"], spec["operator"], spec.get("value")
    actual = contact.get(field)
    if operator in ("exists", "not_exists"):
        return cast(bool, (actual not in (None, "", [])) == (operator == "exists"))
    if operator in ("eq", "not_eq"):
        return cast(bool, _equals(field, actual, wanted) == (operator == "eq"))
    return cast(bool, _contains(actual, wanted) == (operator == "contains"))


def search(contacts: list[dict[str, Any]], body: Mapping[str, Any]) -> tuple[list[dict[str, Any]],
                                                                             int]:
    """The page of contacts (each with its ``searchAfter`` cursor) and the total matching."""
    sort = (body.get("sort") or [{"field": "dateAdded", "direction": "asc"}])[0]
    field, direction = sort.get("field"), str(sort.get("direction", "asc")).lower()
    if field not in SORT_FIELDS or direction not in ("asc", "desc"):
        raise ValueError(f"sort must use a field of {', '.join(SORT_FIELDS)} and asc or desc")
    limit = int(body["pageLimit"])
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ValueError(f"pageLimit must be from 1 to {MAX_PAGE_LIMIT}")
    filters = body.get("filters") or []
    for spec in filters:
        check_filter(spec)
    found = [c for c in contacts if matches_query(c, body.get("query"))
             and all(filter_matches(c, f) for f in filters)]

    def key(contact: dict[str, Any]) -> tuple[int, str]:
        return epoch_ms(contact[field]), contact["id"]

    found.sort(key=key, reverse=direction == "desc")
    after = body.get("searchAfter")
    if after:
        if not (isinstance(after, list) and len(after) == 2):
            raise ValueError("searchAfter must be the [value, id] pair of a previous answer")
        cursor = (int(after[0]), str(after[1]))
        rest = [c for c in found if (key(c) > cursor if direction == "asc" else key(c) < cursor)]
    else:
        page = int(body.get("page") or 1)
        if page < 1:
            raise ValueError("page must not be less than 1")
        rest = found[(page - 1) * limit:]
    return [{**c, "searchAfter": list(key(c))} for c in rest[:limit]], len(found)
