"""The GHL (HighLevel) API v2 client: errors, retry policy, scopes, HTTP calls.

``GhlClient`` (``client.py``) makes ONE attempt per call; retrying is the caller's
decision, taken with ``RetryPolicy`` (``retry.py``: the worker parks and retries
the event). Import from the modules (``clients.ghl.errors``, ``clients.ghl.client``,
…): this package imports none of them, so importing one module never runs the
others first (no import cycle through the package).
"""
