"""Sub-commands of ``toky-ghl``: one module each, with ``register(subparsers)``.

Each module's ``register`` adds its parser and sets ``func`` (a callable taking
the parsed ``argparse.Namespace`` and returning an exit status). Modules are
imported only when the CLI starts, and each imports its heavy dependencies
inside its ``func``, so ``toky-ghl --help`` stays fast.
"""

COMMAND_MODULES = [
    # Add a module path here when you add a command.
    "toky_ghl.commands.enqueue",
    "toky_ghl.commands.worker",
    "toky_ghl.commands.status",
    "toky_ghl.commands.dlq",
    "toky_ghl.commands.conflicts",
    "toky_ghl.commands.auth",
    "toky_ghl.commands.poll",
    "toky_ghl.commands.mirror",
    "toky_ghl.commands.webhook",
    "toky_ghl.commands.webhooks",
    "toky_ghl.commands.agents",
    "toky_ghl.commands.run",
    "toky_ghl.commands.flower",
    "toky_ghl.commands.sandbox",
    "toky_ghl.commands.check_map",
    "toky_ghl.commands.scheduler",
    "toky_ghl.commands.catalog",
    "toky_ghl.commands.try_rules",
    "toky_ghl.commands.metrics",
    "toky_ghl.commands.settings",
]
