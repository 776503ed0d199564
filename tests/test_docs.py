"""The docs name every command, setting and error the code has."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli import main
from server.config import PREFIX, SETTINGS
from sync import errors

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group: click.Group, prefix: str = "blockwalk") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, full))
        else:
            names.append(full)
    return names


def test_every_command_is_documented():
    text = (DOCS / "cli.md").read_text()
    missing = [name for name in _commands(main) if f"`{name}" not in text]
    assert not missing, f"docs/cli.md does not document {missing}"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [PREFIX + name for name in SETTINGS if f"`{PREFIX}{name}`" not in text]
    assert not missing, f"docs/configuration.md does not document {missing}"


def test_every_error_is_documented():
    text = (DOCS / "errors.md").read_text()
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.SyncError)]
    missing = [c.error for c in classes if f"`{c.error}`" not in text]
    assert not missing, f"docs/errors.md does not document {missing}"
