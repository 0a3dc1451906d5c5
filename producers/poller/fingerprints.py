"""Contacts carry no timestamps: a fingerprint per phone tells new and changed ones.

One Redis hash (``producers.keys.contact_fingerprints_key``): E.164 phone →
``"<version>:<fingerprint>"``. ``version`` counts the changes seen for that phone
(1 = created). A change's event id is
``contact-{phone}-{version}.{fingerprint[:12]}``: the counter keeps A → B → A from
reusing B's id, the hash makes the same change seen twice (a poller stopped after
queueing, before saving) the same event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from clients.toky import paths
from contract.events import event_id_for
from toky_ghl.redis_conn import text

HASH_CHARS = 12


def contact_data(row: dict[str, Any]) -> dict[str, Any]:
    """The mapped fields of a Toky contact: the contract's contact fields, blanks left out."""
    return {k: row[k] for k in paths.CONTACT_FIELDS
            if isinstance(row.get(k), str) and row[k].strip()}


def fingerprint(data: dict[str, Any]) -> str:
    """A SHA-256 hex digest of ``data`` (its keys sorted), stable across runs."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ContactChange:
    """A contact to queue: its E.164 phone, version, fingerprint and event type."""

    phone: str
    version: int
    fingerprint: str
    event_type: str  # contact.created | contact.updated

    @property
    def event_id(self) -> str:
        version = f"{self.version}.{self.fingerprint[:HASH_CHARS]}"
        return event_id_for("contact", self.phone, version)


class ContactFingerprints:
    """The saved fingerprints, in one Redis hash."""

    def __init__(self, redis_client: redis.Redis, key: str) -> None:
        self.redis = redis_client
        self.key = key

    def changes(self, contacts: dict[str, dict[str, Any]]) -> dict[str, ContactChange]:
        """For ``{phone: data}``, the contacts that are new or changed since saved, by phone."""
        phones = list(contacts)
        saved = self.redis.hmget(self.key, phones) if phones else []
        out: dict[str, ContactChange] = {}
        for phone, raw in zip(phones, saved, strict=True):
            new = fingerprint(contacts[phone])
            if raw is None:
                out[phone] = ContactChange(phone, 1, new, "contact.created")
                continue
            version, _, old = text(raw).partition(":")
            if old != new:
                out[phone] = ContactChange(phone, int(version) + 1, new, "contact.updated")
        return out

    def save(self, changes: Iterable[ContactChange]) -> None:
        """Remember these changes as seen (call after they were queued)."""
        mapping: dict[FieldT, EncodableT] = {c.phone: f"{c.version}:{c.fingerprint}"
                                             for c in changes}
        if mapping:
            self.redis.hset(self.key, mapping=mapping)
