"""Local simulators of GHL and Toky, served over HTTP on loopback.

They are part of the product: tests, ``toky-ghl run`` and ``toky-ghl sandbox``
use them. Each follows ../shared/reference/ faithfully.
"""
