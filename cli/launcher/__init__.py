"""``toky-ghl run``: every process on one machine, supervised, with prefixed output."""
