"""``--help`` shows every help text whole: square brackets are not taken for Rich markup."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from hypseg.cli.app import app

runner = CliRunner()
COMMANDS = get_command(app).commands


def _shown(args: list[str]) -> str:
    """The help text of ``hypseg ARGS --help`` as one line of words, without Rich's box lines."""
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_bracketed_word_of_a_commands_help_is_shown(name):
    shown = _shown([name])
    texts = [COMMANDS[name].help or ""] + [getattr(param, "help", None) or "" for param in COMMANDS[name].params]
    words = [word for text in texts for word in text.replace("\\[", "[").split() if "[" in word or "]" in word]
    assert [word for word in words if word not in shown] == []


def test_the_brackets_that_went_missing_are_shown():
    assert "A TOML file with [model], [data] and [train] tables" in _shown(["train"])
    assert "(pip install 'hypseg[dask]')." in _shown(["segment"])


def test_the_command_list_gives_each_command_one_line_at_80_columns():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    rows = [line.strip("│ ").split() for line in result.output.splitlines() if line.startswith("│ ")]
    named = [row[0] for row in rows if row and row[0] in COMMANDS]
    assert named == list(COMMANDS)
    listed = result.output.split("Commands", 1)[1]
    assert all(line.startswith("│ ") and line.split()[1] in COMMANDS for line in listed.splitlines()[1:] if line.startswith("│"))


def test_version_is_the_installed_packages():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"hypseg {version('hypseg')}\n"


@pytest.mark.parametrize("name", [name for name, command in COMMANDS.items() if "Examples:" in (command.help or "")])
def test_examples_are_shown_indented_as_commands(name):
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    shown = result.output.split("Examples:", 1)[1].split("╭", 1)[0]
    examples = [line for line in shown.splitlines() if line.strip()]
    assert examples and all(line.startswith("     ") for line in examples), examples
