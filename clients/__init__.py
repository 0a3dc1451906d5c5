"""The HTTP clients of the two services toky-ghl joins, and the policy they share.

``http_policy``: how both clients read an answer's headers (``Retry-After``,
``X-RateLimit-*``), wait before a retry (full-jitter backoff), tell whether a failed
request may have reached the server, and open their pooled sessions.
"""
