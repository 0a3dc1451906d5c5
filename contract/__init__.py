"""The contract between the producers and the worker: what an event is.

``events`` (the one definition of an event: ``validate_event``, ``object_key``),
``schemas`` (one marshmallow schema per event type's ``data``), ``fields``
(marshmallow fields for Toky data), ``phones`` (E.164), ``times`` (ISO 8601 and
Toky's zoneless times), ``ids`` (the ids safe in URLs and Redis keys),
``strict_json`` (JSON as producers read it), ``celery_message`` (the task message
a producer pushes and the worker's delay store rebuilds), ``constants`` (task and
queue names). Both sides import it; it imports neither side.
"""
