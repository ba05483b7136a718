"""CLI command modules, in help order. Each module has `register(sub)` that adds its
sub-parser(s) with `set_defaults(handler=fn)`, where fn(settings, args) -> exit code.
A module that fails to import fails the CLI at start, loudly."""

COMMAND_MODULES: tuple[str, ...] = (
    "alertstream.commands.core",
    "alertstream.commands.channels",
    "alertstream.commands.deliveries",
    "alertstream.commands.providers",
    "alertstream.commands.analyze",
    "alertstream.commands.incidents",
    "alertstream.commands.silences",
    "alertstream.commands.replay",
    "alertstream.commands.tail",
    "alertstream.commands.audit",
    "alertstream.commands.agent",
    "alertstream.commands.keys",
    "alertstream.commands.console_users",
    "alertstream.commands.secrets",
)
