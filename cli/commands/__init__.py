"""Sub-commands of ``toky-ghl``: one module each, with ``register(subparsers)``.

Each module's ``register`` adds its parser and sets ``func`` (a callable taking
the parsed ``argparse.Namespace`` and returning an exit status). Modules are
imported only when the CLI starts, and each imports its heavy dependencies
inside its ``func``, so ``toky-ghl --help`` stays fast.
"""

COMMAND_MODULES = [
    # Add a module path here when you add a command.
    "cli.commands.enqueue",
    "cli.commands.worker",
    "cli.commands.status",
    "cli.commands.dlq",
    "cli.commands.conflicts",
    "cli.commands.auth",
    "cli.commands.poll",
    "cli.commands.mirror",
    "cli.commands.webhook",
    "cli.commands.webhooks",
    "cli.commands.agents",
    "cli.commands.run",
    "cli.commands.flower",
    "cli.commands.sandbox",
    "cli.commands.check_map",
    "cli.commands.scheduler",
    "cli.commands.catalog",
    "cli.commands.try_rules",
    "cli.commands.metrics",
    "cli.commands.settings",
]
