"""What pyinfra's SSH connector sends when sudo has a password: the command line another user of
the host can read, and the channel's input only the remote sudo reads. The SSH client is a
recording stand-in; the real hosts are in tests/integration/test_ssh.py."""

from __future__ import annotations

import io

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.exceptions import PyinfraError
from pyinfra.connectors import ssh
from pyinfra.connectors import util as connector_util

from operations.sudo_password import send_sudo_password_on_stdin

PASSWORD = "it's a s3cret; $(not run)"


class Channel:
    def __init__(self, status: int):
        self.status = status

    def recv_exit_status(self) -> int:
        return self.status


class Output(list):
    def __init__(self, lines: list[str], status: int):
        super().__init__(lines)
        self.channel = Channel(status)


class Input(io.BytesIO):
    def close(self):
        self.sent = self.getvalue()


class RecordingClient:
    """Answers each command with the next canned (stderr lines, exit status); keeps what was sent."""

    def __init__(self, *answers: tuple[list[str], int]):
        self.answers, self.sent = list(answers), []

    def exec_command(self, command, get_pty=False):
        stderr, status = self.answers.pop(0) if self.answers else ([], 0)
        stdin = Input()
        self.sent.append((command, stdin))
        return stdin, Output([], status), Output(stderr, status)

    def runs(self) -> list[tuple[str, str]]:
        return [(command, stdin.sent.decode()) for command, stdin in self.sent]


def connector(client: RecordingClient, **data) -> ssh.SSHConnector:
    send_sudo_password_on_stdin()
    state = State(Inventory(([("dash.example.com", data)], {})), Config())
    host = state.inventory.get_host("dash.example.com")
    connection = ssh.SSHConnector(state, host)
    connection.client = client
    return connection


def test_sudos_password_travels_on_the_channels_input_never_on_the_command_line():
    client = RecordingClient()
    connection = connector(client)
    assert connection.run_shell_command("id -u", _sudo=True, _sudo_password=PASSWORD, _sudo_user="horizon")[0]
    [(command, stdin)] = client.runs()
    assert PASSWORD not in command and "PYINFRA_SUDO_PASSWORD" not in command and "askpass" not in command
    assert command.startswith("sudo -H -S -p '' -k -u horizon sh -c ")
    assert stdin == f"{PASSWORD}\n"


def test_a_command_run_with_a_sudo_password_reads_nothing_sudo_left_unread():
    # Under a NOPASSWD rule sudo does not read the password line: the command's own input is
    # /dev/null, so the line cannot reach a program that reads its input.
    client = RecordingClient()
    connector(client).run_shell_command("cat", _sudo=True, _sudo_password=PASSWORD)
    [(command, _)] = client.runs()
    assert command == "sudo -H -S -p '' -k sh -c 'exec </dev/null && cat'"


def test_the_password_pyinfra_prompts_for_after_sudo_asked_travels_on_the_input(monkeypatch):
    monkeypatch.setattr(connector_util, "getpass", lambda prompt: PASSWORD)
    client = RecordingClient((["sudo: a password is required"], 1))
    assert connector(client).run_shell_command("true", _sudo=True)[0]
    (first, first_input), (retry, retry_input) = client.runs()
    assert first == "sudo -H -n sh -c true" and first_input == ""
    assert retry.startswith("sudo -H -S ") and PASSWORD not in retry and retry_input == f"{PASSWORD}\n"


def test_passwordless_sudo_and_commands_without_sudo_are_sent_as_pyinfra_sends_them():
    client = RecordingClient()
    connection = connector(client)
    connection.run_shell_command("true", _sudo=True)
    connection.run_shell_command("true")
    assert client.runs() == [("sudo -H -n sh -c true", ""), ("sh -c true", "")]


@pytest.mark.parametrize("own_input", [{"_stdin": "data"}, {"_get_pty": True}])
def test_a_command_with_its_own_input_or_a_terminal_refuses_a_sudo_password(own_input):
    # sudo would read the command's input as its password, or a terminal would echo it.
    with pytest.raises(PyinfraError, match="cannot run with a sudo password"):
        connector(RecordingClient()).run_shell_command("true", _sudo=True, _sudo_password=PASSWORD, **own_input)
