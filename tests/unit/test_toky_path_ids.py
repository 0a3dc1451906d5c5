"""Toky ids in Toky's URL paths: only ids of the explicit character set get there; a CDR
whose callid could address another path is refused before its recording is asked for."""

from __future__ import annotations

import pytest

from clients.toky import paths
from contract.events import InvalidEvent
from producers.poller.history import CALLS


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "?x=1", "x" * 129])
def test_paths_refuse_what_is_not_a_toky_id(bad):
    with pytest.raises(ValueError, match="not a Toky id"):
        paths.recording_path(bad)
    with pytest.raises(ValueError, match="not a Toky id"):
        paths.webhook_path(bad)


@pytest.mark.parametrize("bad", ["..", "+1/../x", "14155550134", "+1"])
def test_a_contact_path_takes_only_an_e164_phone(bad):
    with pytest.raises(ValueError, match="E.164"):
        paths.contact_path(bad)
    assert paths.contact_path("+14155550134") == "/contacts/%2B14155550134"


def test_good_ids_are_one_segment():
    assert paths.recording_path("8c1e5d02-77a1-4f5e") == "/recordings/8c1e5d02-77a1-4f5e"
    assert paths.webhook_path(42) == "/webhooks/42"


class RecordingClient:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def recording_url(self, callid: str) -> str:
        self.asked.append(callid)
        return "https://rec.example/1.mp3"


def test_a_cdr_with_a_dot_dot_callid_is_refused_before_any_request():
    # Given an answered call whose callid is ".."
    row = {"callid": "..", "direction": "inbound", "from": "+14155550134",
           "disposition_code": "200", "duration": "30", "init_dt": "2026-11-02 10:00:00"}
    client = RecordingClient()
    # When the poller maps it / Then it is invalid naming callid, and Toky was not asked
    with pytest.raises(InvalidEvent, match="data.callid"):
        CALLS.to_event(client, row)
    assert client.asked == []
    # And a good callid is asked for
    CALLS.to_event(client, {**row, "callid": "c-1"})
    assert client.asked == ["c-1"]
