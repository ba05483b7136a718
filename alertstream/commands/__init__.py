"""CLI command modules, in help order. Each module has `register(sub)` that adds its
sub-parser(s) with `set_defaults(handler=fn)`, where fn(settings, args) -> exit code.
A module that fails to import fails the CLI at start, loudly."""

COMMAND_MODULES: tuple[str, ...] = (
    "alertstream.commands.core",
)
