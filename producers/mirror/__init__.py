"""The GHL → Toky contact mirror, producer side (``toky-ghl mirror``).

``MirrorPoller`` reads GHL contacts added or changed since its cursor from a
``ContactSource`` (wired by the command to the GHL client and the shared rate
limiter) and queues ``ghl.contact.created`` / ``ghl.contact.updated`` events.
``shared`` is the one fingerprint of the fields both systems hold, and
``memory`` what each side last received from the other: together they keep
the two directions from echoing each other's writes. See docs/mirror.md.
"""

from producers.mirror.memory import TO_GHL, TO_TOKY, SyncMemory
from producers.mirror.poller import MirrorPoller
from producers.mirror.shared import fingerprint, from_ghl, from_toky
from producers.mirror.source import ContactSource, SourceBusy, SourceError, SourceFailed

__all__ = [
    "TO_GHL",
    "TO_TOKY",
    "ContactSource",
    "MirrorPoller",
    "SourceBusy",
    "SourceError",
    "SourceFailed",
    "SyncMemory",
    "fingerprint",
    "from_ghl",
    "from_toky",
]
