"""What keeps a log line cheap loses nothing: the checks that let most values through
unscrubbed miss nothing the scrubbing would catch (the words every pattern needs, in any
case, also spelt with the characters ``re.IGNORECASE`` takes for ASCII letters; registered
secrets of any length from the shortest up), and a structlog line, rendered once, is the
line every handler gets."""

from __future__ import annotations

import copy
import json
import logging
import re
import sys

import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from toky_ghl import logs


def _ignorecase_twins() -> dict[str, str]:
    """Every non-ASCII character ``re.IGNORECASE`` matches to an ASCII letter: that letter."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    return {chr(cp): chr(cp).lower() if chr(cp).lower().isascii() else
            next(x for x in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(x, chr(cp), re.I))
            for cp in range(128, sys.maxunicode + 1) if letter.fullmatch(chr(cp))}


def test_a_word_spelt_with_an_ignorecase_twin_is_still_caught():
    # Given each word the patterns need, with one letter replaced by each non-ASCII
    # character the case-insensitive patterns take for it (the Kelvin sign for k...)
    twins = _ignorecase_twins()
    assert twins  # (ſ, K, ı, İ on Python 3.11)
    for twin, letter in twins.items():
        for word in logs._MAY_MATCH_WORDS:
            if letter in word:
                text = "sent " + word.replace(letter, twin, 1) + "=abc123 then"
                # When the prefilter looks at it
                # Then it says "may match", as the case-insensitive expression does
                assert logs._MAY_MATCH.search(text), (twin, word)
                assert logs._may_match(text), (twin, word)


_PIECES = st.sampled_from([*logs._MAY_MATCH_WORDS, "BEARER", "Api-Key", "KEY=", "ToKeN",
                           "\u212aey=", "paſsw", "authorız", "İ", "…", "a", " ", ":", "/",
                           "=", "-", "_", "ke", "y=", "é"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_the_prefilter_agrees_with_the_case_insensitive_expression(text):
    # Given any text made of pieces of the words, their case variants and twins
    # When the prefilter and the expression look at it
    # Then they agree
    assert logs._may_match(text) == (logs._MAY_MATCH.search(text) is not None)


_SECRET = "s3cr3t-Qx9"


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES | st.just(_SECRET) | st.just(_SECRET[:6]), max_size=8).map("".join))
def test_a_value_let_through_as_plain_is_one_scrubbing_leaves_as_it_is(text):
    # Given a registered secret, and any text of pieces of it, of the words and their twins
    logs.register_secrets([_SECRET])
    # When the cheap check calls it plain
    # Then scrubbing it would change nothing; and a text holding the secret is never plain
    if logs._is_plain(text):
        assert logs._scrub_value("detail", text) == text
    if _SECRET in text:
        assert not logs._is_plain(text)


def test_a_value_exactly_as_long_as_the_shortest_secret_is_scrubbed(monkeypatch):
    for name in ("_secret_values", "_secrets_longest_first", "_shortest_secret"):
        monkeypatch.setattr(logs, name, copy.copy(getattr(logs, name)))  # put back after
    # Given a four-character secret registered after a longer one
    logs.register_secrets(["a-long-secret-value-123", "wxyz"])
    # When values of its length and shorter are logged
    out = logs.redact(None, "info", {"event": "x", "a": "wxyz", "b": "wxy", "c": "1wxyz"})
    # Then it is scrubbed wherever it appears, and shorter values are left alone
    assert out == {"event": "x", "a": "***", "b": "wxy", "c": "1***"}


def test_a_key_decision_is_the_same_from_the_cache():
    # Given the same secret-looking key logged twice, and an ordinary one
    first = logs.redact(None, "info", {"GHL_TOKEN": "t1", "detail": "ok"})
    # When logged again
    again = logs.redact(None, "info", {"GHL_TOKEN": "t2", "detail": "ok"})
    # Then the answers are the same
    assert first == again == {"GHL_TOKEN": "***", "detail": "ok"}


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_structlog_line_is_rendered_once_and_every_handler_gets_that_line(capsys,
                                                                            monkeypatch):
    # Given JSON logging, a renderer that counts its calls, and a second handler
    calls = []
    render = structlog.processors.JSONRenderer.__call__

    def counted(self, *args):
        calls.append(1)
        return render(self, *args)

    monkeypatch.setattr(structlog.processors.JSONRenderer, "__call__", counted)
    logs.configure("INFO", json=True)
    kept = _Kept()
    logging.getLogger().addHandler(kept)
    try:
        # When a structlog line with a secret-looking key is logged
        structlog.get_logger("toky_ghl.test").info("event applied", token="t-1", label="x")
    finally:
        logging.getLogger().removeHandler(kept)
    # Then it was rendered once, and the stream and the other handler got the same line
    (line,) = capsys.readouterr().err.splitlines()
    assert len(calls) == 1
    assert kept.records[0].getMessage() == line
    assert json.loads(line)["token"] == "***" and json.loads(line)["label"] == "x"


def test_a_text_let_through_before_a_secret_is_registered_is_scrubbed_after(monkeypatch):
    for name in ("_secret_values", "_secrets_longest_first", "_shortest_secret"):
        monkeypatch.setattr(logs, name, copy.copy(getattr(logs, name)))  # put back after
    # Given a value logged (and found plain) before the secret it holds is known
    value = "refreshed pit-later-registered-7f3a"
    assert logs.redact(None, "info", {"detail": value}) == {"detail": value}
    # When the secret is registered (a refreshed token, say)
    logs.register_secrets(["pit-later-registered-7f3a"])
    # Then the same value is scrubbed from then on
    assert logs.redact(None, "info", {"detail": value}) == {"detail": "refreshed ***"}


def test_the_texts_known_plain_stay_few(monkeypatch):
    # Given a small bound on the texts remembered as plain
    monkeypatch.setattr(logs, "_PLAIN_MAX_TEXTS", 8)
    monkeypatch.setattr(logs, "_plain_texts", set())
    # When many distinct plain values (and one long one) are logged
    for i in range(50):
        logs.redact(None, "info", {"event": f"line {i}"})
    logs.redact(None, "info", {"event": "x" * (logs._PLAIN_MAX_CHARS + 1)})
    # Then at most the bound is remembered, never the long one, and answers are unchanged
    assert 0 < len(logs._plain_texts) <= 8
    assert all(len(text) <= logs._PLAIN_MAX_CHARS for text in logs._plain_texts)
    assert logs.redact(None, "info", {"event": "line 3"}) == {"event": "line 3"}


def test_a_secret_looking_key_is_redacted_however_often_its_value_is_seen_plain():
    # Given a value seen plain under an ordinary key, and the same under secret-looking keys
    line = {"detail": "abc1", "api_token": "abc1", "n": 0, "password": 7, "nested": {"x": 1}}
    for _ in range(3):
        # When the line is logged again and again (ordinary keys and plain texts remembered)
        out = logs.redact(None, "info", dict(line))
        # Then the secret-looking keys' values are always replaced, the rest kept
        assert out == {"detail": "abc1", "api_token": "***", "n": 0, "password": "***",
                       "nested": {"x": 1}}
