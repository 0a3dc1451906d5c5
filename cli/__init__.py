"""The command line (``toky-ghl``) and the ``run`` launcher.

``main`` (argument parsing, the one place errors become exit codes), ``commands/``
(one module per sub-command), ``launcher/`` (``toky-ghl run``: every process of a
deployment on one machine, supervised).
"""
