"""The `stepback` command line."""

from __future__ import annotations

import sys

import click

from server.addon import AddonConfigError
from server.cli.common import CliError, close_apps
from server.cli.demo import demo
from server.cli.gmail import connect, emulator, export, sync
from server.cli.scan import scan
from server.cli.store import db


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepback-gmail", prog_name="stepback")
def cli() -> None:
    """stepback: find the prospects who went quiet, and step back instead of chasing."""


for command in (scan, sync, export, connect, emulator, demo, db):
    cli.add_command(command)


def register(command: click.Command) -> None:
    """Let another surface add its own sub-command (e.g. `admin`, `addon`, `keys`)."""
    cli.add_command(command)


def _load_extra_commands() -> None:
    import importlib

    for name in ("server.cli.admin", "server.cli.addon", "server.cli.keys",
                 "server.cli.check_draft"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: clear one-line errors, exit code 2 for bad input."""
    _load_extra_commands()
    try:
        cli.main(args=argv, prog_name="stepback", standalone_mode=False)
    except CliError as exc:
        click.echo(f"stepback: error: {exc.message}", err=True)
        return exc.exit_code
    except AddonConfigError as exc:
        # A configuration the app refuses to start with: its one-line reason.
        click.echo(f"stepback: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("stepback: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("stepback: interrupted; progress so far is saved", err=True)
        return 130
    finally:
        close_apps()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
