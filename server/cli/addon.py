"""`stepback addon ...`: helpers for the Gmail add-on (Workspace HTTP runtime)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from server.cli.common import CliError


@click.group()
def addon() -> None:
    """The Gmail add-on: write its deployment descriptor."""


@addon.command("deployment")
@click.option(
    "--base-url",
    required=True,
    metavar="URL",
    help="Public https:// URL of the running service, e.g. https://stepback.example.org",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def deployment(base_url: str, out: Path | None) -> None:
    """Print (or write) deployment.json for `gcloud workspace-add-ons deployments create`."""
    from server.addon.deployment import DeploymentError, deployment_json

    try:
        text = deployment_json(base_url)
    except DeploymentError as exc:
        raise CliError(str(exc)) from exc
    if out is None:
        click.echo(text, nl=False)
        return
    _write_atomically(out, text)
    click.echo(f"wrote {out}", err=True)


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step so a failed write never leaves half a file."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"--out: folder does not exist: {folder}")
    fd, tmp = tempfile.mkstemp(prefix=".deployment-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CliError(f"--out: cannot write {path}: {exc.strerror or exc}") from exc


COMMANDS = [addon]
