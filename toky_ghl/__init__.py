"""toky-ghl: keep a HighLevel (GHL) sub-account in sync with Toky.

Shared pieces used by both sides: settings, logging, Redis connections, the CLI
and the local simulators of GHL and Toky.
"""

__version__ = "0.1.0"
