"""toky-ghl: keep a HighLevel (GHL) sub-account in sync with Toky.

The foundation every package imports: settings (``settings``, ``options``),
logging with redaction (``logs``), errors (``errors``), Redis connections
(``redis_conn``, ``broker_keys``) and what is counted (``metrics``). The command
line is ``cli``, the simulators ``simulators``.
"""

__version__ = "0.1.0"
