"""The ``mendcrm`` command group and its entry point.

Commands are imported only when invoked (``_COMMANDS`` maps a name to ``module:attribute``), so
``mendcrm contact list`` never pays for the CalDAV stack. User errors (:class:`MendError`) become
one line on stderr and exit 1 (failure) or 2 (usage/config); nothing the user did wrong prints a
traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from mendcrm.cli.context import AppContext
from mendcrm.errors import MendError

_COMMANDS: dict[str, str] = {
    "init": "mendcrm.cli.init_command:init",
    "contact": "mendcrm.cli.contact_commands:contact",
    "log": "mendcrm.cli.contact_commands:log",
    "account": "mendcrm.cli.account_commands:account",
    "programme": "mendcrm.cli.programme_commands:programme",
    "sync": "mendcrm.cli.sync_commands:sync",
    "events": "mendcrm.cli.sync_commands:events",
    "upcoming": "mendcrm.cli.queue_commands:upcoming",
    "prep": "mendcrm.cli.queue_commands:prep",
    "followups": "mendcrm.cli.queue_commands:followups",
    "followup": "mendcrm.cli.queue_commands:followup",
    "snooze": "mendcrm.cli.queue_commands:snooze_command",
    "encounter": "mendcrm.cli.encounter_commands:encounter",
    "annotations": "mendcrm.cli.annotation_commands:annotations",
    "backup": "mendcrm.cli.data_commands:backup",
    "restore": "mendcrm.cli.data_commands:restore",
    "ui": "mendcrm.web.command:ui",
    "daemon": "mendcrm.cli.service_commands:daemon",
    "status": "mendcrm.cli.service_commands:status",
    "service": "mendcrm.cli.service_commands:service",
    "plugins": "mendcrm.cli.plugin_commands:plugins",
    "demo": "mendcrm.cli.demo_command:demo",
}

_HELP: dict[str, str] = {
    "init": "Write a commented config file.",
    "contact": "Add, list, show, edit, flag and import contacts.",
    "log": "Record how an interaction with a contact went.",
    "account": "Add, list, test and remove CalDAV accounts.",
    "programme": "Add, list, show, attend and remove conference programmes.",
    "sync": "Run one pass of the pipeline.",
    "events": "Show the calendar occurrences MendCRM sees.",
    "upcoming": "Encounters ahead, with why each matched.",
    "prep": "Due and upcoming prep notes.",
    "followups": "Follow-ups waiting for you.",
    "followup": "Mark a follow-up done or dismissed.",
    "snooze": "Put off a prep note, follow-up or nudge.",
    "encounter": "Dismiss an encounter that is not the person.",
    "annotations": "Manage MendCRM's notes in your calendars.",
    "backup": "Write a consistent copy of the store to a file.",
    "restore": "Make a backup file the store.",
    "ui": "Serve the local web page.",
    "daemon": "Run MendCRM as a background service.",
    "status": "Show the daemon's health and last syncs.",
    "service": "Install or remove the systemd/launchd service.",
    "plugins": "List plugins.",
    "demo": "Run the whole product against a throwaway local server.",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name) or self._plugin_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # a command whose module is not part of this build
            raise
        command: click.Command = getattr(module, attribute)
        return command

    def _plugin_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Load the enabled plugins' commands, only when a name is not one of MendCRM's own."""
        app = ctx.find_object(AppContext)
        if app is None or getattr(self, "_plugins_loaded", False):
            return None
        self._plugins_loaded = True
        from mendcrm.plugins import add_plugin_commands

        add_plugin_commands(self, app.config)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module (start-up time).
        rows = [(name, _HELP.get(name, "")) for name in sorted(_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_option",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $MENDCRM_CONFIG, else the user config folder).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
@click.version_option(package_name="mendcrm")
@click.pass_context
def cli(ctx: click.Context, config_option: Path | None, verbose: bool) -> None:
    """MendCRM: prepare for, and follow up on, encounters with people you are mending with."""
    from mendcrm.cli.output import guard_terminal
    from mendcrm.logs import configure_logging

    guard_terminal()  # before logging binds stderr; again here for callers that skip main()
    configure_logging(verbose)
    ctx.obj = AppContext(config_option=config_option, verbose=verbose)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; every error, MendCRM's own or not, becomes one line on stderr and an exit code.

    Exit 1 for a failure, 2 for a usage or configuration error, 130 when interrupted.
    """
    from mendcrm.cli import context
    from mendcrm.cli.output import guard_terminal

    guard_terminal()  # every byte printed from here on, errors included, passes the guard
    context.one_command_process = True
    try:
        return cli.main(args=argv, prog_name="mendcrm", standalone_mode=False)
    except MendError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("mendcrm: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        _error(exc.format_message(), _usage_hint(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("mendcrm: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the boundary: a bug must still reach the user as one line
        import logging

        logging.getLogger("mendcrm").debug("unexpected error", exc_info=True)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        _error(
            f"unexpected {type(exc).__name__}" + (f": {first}" if first else ""),
            "this is a bug in MendCRM: run the command again with --verbose for the details, "
            "and report them",
        )
        sys.exit(1)
    finally:
        context.one_command_process = False


def _error(message: str, hint: str = "") -> None:
    """Print ``mendcrm: error: MESSAGE (hint: HINT)`` as one line, whatever the message holds,
    with any password MendCRM has read masked in every form it travels in."""
    from mendcrm.daemon.redaction import redact

    text = " ".join(redact(message).split())
    if hint:
        text += f" (hint: {hint})"
    click.echo(f"mendcrm: error: {text}", err=True)


def _usage_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f"see `{ctx.command_path} --help`"
    return ""


__all__ = ["cli", "main"]
