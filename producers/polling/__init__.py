"""What the Toky poller and the GHL → Toky mirror both use to poll.

``cursor`` (the mark and the versions seen), ``sink`` (validate and queue, with
counts), ``report`` (what one poll did), ``lock`` (one poller per deployment at a
time), ``runner`` (the loop: lock, poll, sleep, report).
"""
