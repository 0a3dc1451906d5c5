"""argparse ``type=`` converters shared by the commands; each error names what is expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int, maximum: int | None = None, *,
                 what: str = "a whole number") -> Callable[[str], int]:
    """A converter to an int in ``minimum..maximum`` (no upper bound when None)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be {minimum}..{maximum}, got {value}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return convert


def seconds(text: str) -> float:
    """A non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


#: A TCP port; 0 asks for any free one.
port = whole_number(0, 65535, what="a port number")
#: A whole number of at least 1.
positive_int = whole_number(1)
#: Rows per Toky/GHL page request.
page_size = whole_number(1, 500)
