"""A refresh saves its new pair only while it still holds the credentials lock and the
stored version is still the one it replaced: a refresh that outlived its lock never
overwrites what another writer stored meanwhile."""

from __future__ import annotations

import json

import pytest
import responses

from tests.unit.auth_support import (
    TOKEN_URL,
    make_settings,
    new_redis,
    provider,
    store_oauth,
    store_pit,
)
from worker.auth.errors import AuthUnavailable, SaveRefused
from worker.auth.manage import rotate_pit
from worker.auth.record import PIT, Credentials


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _answer(access: str, refresh: str):
    return 200, {}, json.dumps({"access_token": access, "refresh_token": refresh,
                                "expires_in": 3600, "scope": "contacts.readonly"})


def test_a_refresh_that_outlived_its_lock_does_not_overwrite_the_new_holders_save(rsps):
    # Given an expired pair, and a refresh whose token call outlives its lock: meanwhile
    # another process takes the (expired) lock and rotates to a Private Integration Token
    redis = new_redis()
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-old", refresh="rt-old", expires_in_s=-1)

    def slow_ghl(_request):
        redis.delete(prov.store.lock_key)  # our lock's time to live ran out
        rotate_pit(make_settings(), redis, "pit-ROTATED-0001")  # `auth rotate`: lock, save
        return _answer("at-late", "rt-late")

    rsps.add_callback(responses.POST, TOKEN_URL, callback=slow_ghl)
    # When the refresh comes back
    with pytest.raises(AuthUnavailable, match="lock was lost|nothing saved"):
        prov()
    # Then the rotated token is what is stored, untouched
    stored = prov.store.load()
    assert (stored.kind, stored.access_token, stored.version) == (PIT, "pit-ROTATED-0001", 2)
    # And the next call uses it, with no other refresh
    assert prov() == "pit-ROTATED-0001"
    assert len(rsps.calls) == 1


def test_a_refresh_does_not_save_over_a_version_written_meanwhile(rsps):
    # Given a refresh that still holds its lock, while a newer version got stored anyway
    redis = new_redis()
    prov = provider(make_settings(), redis)
    store_oauth(prov, access="at-old", refresh="rt-old", expires_in_s=-1)

    def ghl(_request):
        prov.store.save(Credentials(kind=PIT, access_token="pit-NEWER-0002"))  # no lock
        return _answer("at-late", "rt-late")

    rsps.add_callback(responses.POST, TOKEN_URL, callback=ghl)
    # When the refresh comes back / Then nothing is saved over version 2
    with pytest.raises(SaveRefused, match="version 2, not 1"):
        prov()
    assert prov.store.load().access_token == "pit-NEWER-0002"


def test_a_save_under_a_lock_someone_else_holds_is_refused():
    # Given a lock taken by this writer, then lost to another one
    redis = new_redis()
    prov = provider(make_settings(), redis)
    store_pit(prov, "pit-FIRST-0001")
    mine = prov.store.lock(ttl_s=30, wait_s=1)
    assert mine.acquire()
    redis.delete(prov.store.lock_key)
    theirs = prov.store.lock(ttl_s=30, wait_s=1)
    assert theirs.acquire()
    # When this writer saves / Then it is refused, and the holder's save goes through
    with pytest.raises(SaveRefused):
        prov.store.save(Credentials(kind=PIT, access_token="pit-MINE-0002"), lock=mine)
    assert prov.store.save(Credentials(kind=PIT, access_token="pit-THEIRS-0002"),
                           lock=theirs).version == 2
    assert prov.store.load().access_token == "pit-THEIRS-0002"
