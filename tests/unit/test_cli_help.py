"""`doktu --help` and every subcommand's help answer without building the app or starting a database."""

import pytest
from click.testing import CliRunner

from portals import cli as cli_module


@pytest.fixture
def no_app(monkeypatch):
    """Any attempt to build the app (and so to start the embedded PostgreSQL) fails the test."""
    def refuse(*_args):
        raise AssertionError("the app was built for --help")

    monkeypatch.setattr(cli_module, "_create_app", refuse)
    monkeypatch.setattr(cli_module.cli, "create_app", refuse)


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["db", "seed", "--help"],
                                  ["db", "upgrade", "--help"], ["db", "downgrade", "--help"],
                                  ["worker", "--help"], ["serve", "--help"], ["users", "--help"],
                                  ["users", "create-admin", "--help"], ["users", "invite-doctor", "--help"],
                                  ["demo", "--help"], ["kpis", "rollup", "--help"]])
def test_help_never_builds_the_app(no_app, args):
    result = CliRunner().invoke(cli_module.cli, args, prog_name="doktu")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: doktu")


def test_flasks_development_commands_are_hidden_but_still_there(no_app):
    listed = CliRunner().invoke(cli_module.cli, ["--help"]).output
    commands = listed.split("Commands:")[1]
    assert {"db", "demo", "serve", "worker"} <= {line.split()[0] for line in commands.strip().splitlines()}
    for hidden in ("run", "shell", "routes"):
        assert f"\n  {hidden} " not in commands
    assert CliRunner().invoke(cli_module.cli, ["routes", "--help"]).exit_code == 0
