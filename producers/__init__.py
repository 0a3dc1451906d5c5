"""Producers: validate Toky events and queue them for the workers.

Light by design: they import nothing of ``worker``. ``events`` holds the one
definition of an event (the worker re-validates with the same schemas),
``queue`` publishes accepted events to the Celery broker, ``enqueue`` reads
NDJSON files of events.
"""
