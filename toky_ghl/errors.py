"""Errors shared by every part of toky-ghl (the GHL and Toky clients have their own)."""


class TokyGhlError(Exception):
    """Root of the errors raised by toky-ghl's own code (not the API clients)."""


class ConfigError(TokyGhlError):
    """A setting, the field map or a command line is wrong; the message names it."""


class RedisUnreachable(TokyGhlError):
    """Redis (``REDIS_URL``) did not answer; the message shows the URL, password masked."""


class UsageError(TokyGhlError):
    """A command line the command cannot run (an unknown option, a busy port); the
    message names it, and the CLI exits 2."""
