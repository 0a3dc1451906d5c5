"""Producers: validate Toky events and queue them for the workers.

Light by design: they import nothing of ``worker``; the definition of an event is
``contract``'s (the worker re-validates with the same schemas). ``webhook`` (the
receiver), ``poller`` (the Toky poller), ``mirror`` (the GHL → Toky poller),
``records`` (Toky records as events, for both), ``polling`` (what both pollers
share), ``queue`` publishes accepted events to the Celery broker, ``enqueue``
reads NDJSON files of events.
"""
