"""Names shared by producers and workers (the wire between them)."""

#: The Celery task every event is queued for; args: ``[event]`` (the event as
#: accepted: a dict with id, type, occurred_at, data). No secrets, ever.
APPLY_EVENT_TASK = "toky_ghl.apply_event"

#: The Celery queue (a Redis list of that name) producers push events to.
EVENTS_QUEUE = "toky-ghl.events"

#: How long an event id is remembered as queued or applied, in seconds (30 days).
EVENT_ID_TTL_S = 30 * 24 * 3600
