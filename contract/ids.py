"""The ids that end up in URL paths, Redis keys and markers: an explicit character set
and length for each, so ``.``, ``..``, ``/``, ``?`` or a 100 KB id never get that far.

- A Toky id (``callid``, a voicemail's or SMS's ``id``, ``task_id``, ``note_id``,
  ``appointment_id``): letters, digits, ``_ - . :``, at most 128 characters, not
  starting with a dot. Toky's callids are UUID-like (toky-api.md, "CDR"); Toky
  documents no other id format, so the set is a little wider than what was seen.
- A GHL id (contact, task, note, appointment, business): letters, digits, ``_ -``, at
  most 64 characters. GHL's ids are 20 alphanumerics (e.g. ``ve9EPM428h8vShlRW1KT`` in
  the spec's examples, apps/contacts.json).
"""

from __future__ import annotations

import re

TOKY_ID_MAX_CHARS = 128
GHL_ID_MAX_CHARS = 64
_TOKY_ID = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.:-]{{0,{TOKY_ID_MAX_CHARS - 1}}}")
_GHL_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{GHL_ID_MAX_CHARS}}}")

TOKY_ID_RULE = (f"letters, digits, '_', '-', '.' or ':', at most {TOKY_ID_MAX_CHARS} "
                "characters, not starting with '.'")
GHL_ID_RULE = f"letters, digits, '_' or '-', at most {GHL_ID_MAX_CHARS} characters"


def is_toky_id(text: str) -> bool:
    return isinstance(text, str) and _TOKY_ID.fullmatch(text) is not None


def is_ghl_id(text: str) -> bool:
    return isinstance(text, str) and _GHL_ID.fullmatch(text) is not None
