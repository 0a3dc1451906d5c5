"""The Redis keys: built only in the keys modules, and named as deployed data is.

A deployment's Redis holds these names (and Lua scripts and tests read them): a
renamed key would strand what is stored under the old name, so each name is pinned
here as it is written today.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from producers import keys as pk
from toky_ghl import keys as tk
from worker import keys as wk

REPO = Path(__file__).resolve().parents[2]
KEYS_MODULES = {REPO / "worker" / "keys.py", REPO / "producers" / "keys.py",
                REPO / "toky_ghl" / "keys.py"}


@pytest.mark.parametrize(("built", "name"), [
    (wk.handled_key("P", "call-c1"), "P:handled:call-c1"),
    (wk.version_key("P", "call:c1"), "P:version:call:c1"),
    (wk.object_lock_key("P", "call:c1"), "P:lock:call:c1"),
    (wk.sync_lock_key("P", "making-contact", "+15125550101"),
     "P:lock:making-contact:+15125550101"),
    (wk.idmap_key("P", "contact", "+15125550101"), "P:idmap:contact:+15125550101"),
    (wk.stats_counts_key("P"), "P:stats:counts"),
    (wk.stats_retrying_key("P"), "P:stats:retrying"),
    (wk.stats_retrying_reason_key("P"), "P:stats:retrying_reason"),
    (wk.inflight_key("P"), "P:inflight"),
    (wk.worker_key("P", "w1@host"), "P:workers:w1@host"),
    (wk.dlq_items_key("P"), "P:dlq:items"),
    (wk.dlq_index_key("P"), "P:dlq:index"),
    (wk.dlq_kinds_key("P"), "P:dlq:kinds"),
    (wk.conflicts_email_key("P"), "P:conflicts:email"),
    (wk.conflicts_index_key("P"), "P:conflicts:index"),
    (wk.circuit_key("P", "loc"), "P:circuit:loc"),
    (wk.circuit_locations_key("P"), "P:circuit:locations"),
    (wk.ratelimit_keys("P", "loc"),
     ["P:ratelimit:loc:window", "P:ratelimit:loc:daily", "P:ratelimit:loc:limits"]),
    (wk.auth_keys("P", "loc"),
     ("P:auth:loc:creds", "P:auth:loc:meta", "P:auth:loc:lock", "P:auth:loc:paused")),
    (wk.custom_field_ids_key("P"), "P:ghl:custom-field-ids"),
    (wk.delay_locations_key("P"), "P:delay:locations"),
    (wk.delay_location_keys("P", "loc"),
     ["P:delay:loc:due", "P:delay:loc:items", "P:delay:loc:since", "P:delay:loc:reasons"]),
    (wk.scheduler_lock_key("P"), "P:delay:scheduler"),
    (wk.probe_released_key("P", "loc"), "P:delay:loc:probe_released"),
    (wk.rule_done_key("P", "e1:r1:0"), "P:rules:done:e1:r1:0"),
    (wk.rule_matched_key("P", "e1", "r1"), "P:rules:matched:e1:r1"),
    (wk.rule_object_version_key("P", "rule:key:k"), "P:rules:version:rule:key:k"),
    (pk.queued_key("P", "call-c1"), "P:queued:call-c1"),
    (pk.poller_cursor_key("P", "calls"), "P:poller:calls"),
    (pk.cursor_keys("P:poller:calls"), ("P:poller:calls:mark", "P:poller:calls:seen")),
    (pk.mirror_cursor_key("P"), "P:mirror:ghl"),
    (pk.contact_fingerprints_key("P"), "P:poller:contacts"),
    (pk.mirror_memory_key("P"), "P:mirror:last"),
    (pk.poller_lock_key("P"), "P:poller:lock"),
    (pk.mirror_lock_key("P"), "P:mirror:lock"),
    (tk.queue_key("P"), "P:toky-ghl.events"),
    (tk.unacked_key("P"), "P:unacked"),
    (tk.metrics_key("P", "events"), "P:metrics:events"),
])
def test_every_key_keeps_its_deployed_name(built, name):
    assert built == name


def test_every_key_builder_says_what_the_key_holds_its_type_and_lifetime():
    for module in (wk, pk, tk):
        for name in dir(module):
            if name.endswith(("_key", "_keys")) and callable(getattr(module, name)):
                doc = getattr(module, name).__doc__ or ""
                assert doc.strip(), f"{module.__name__}.{name} has no description"


#: A key written out by hand: an f-string with the prefix then a colon and a name (a
#: message like "{prefix}: text" is not one).
_BUILT_BY_HAND = re.compile(r"""f["'][^"'\n]*\{[\w.]*prefix\}:(?! )""")


def test_no_module_builds_a_key_by_hand():
    offenders = []
    for package in ("worker", "producers", "toky_ghl", "contract", "clients", "cli",
                    "simulators"):
        for path in (REPO / package).rglob("*.py"):
            if path in KEYS_MODULES:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if _BUILT_BY_HAND.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
