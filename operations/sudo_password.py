"""sudo's password over SSH, on sudo's standard input instead of a command line.

pyinfra 3 hands sudo its password as ``env PYINFRA_SUDO_PASSWORD=<password> sudo -A ...``: the
remote shell's command line, which every user of the host can read in ``/proc/PID/cmdline``
until the shell execs (the SSH tests' watcher saw it). With :func:`send_sudo_password_on_stdin`
in force the same run sends ``sudo -S -p '' -k ...`` and writes the password as the first line
of the SSH channel's input, which no other user can read. Whichever way pyinfra got the password
(``_sudo_password`` host data, ``--same-sudo-password``, or its prompt after "a password is
required") is used, decided when each command is sent.
"""

from __future__ import annotations

from pyinfra.api import QuoteString, StringCommand
from pyinfra.api.exceptions import PyinfraError
from pyinfra.connectors import ssh
from pyinfra.connectors.util import make_unix_command

# sudo's own options as pyinfra's command arguments: what the command built here takes over.
SUDO_ARGUMENTS = ("_sudo", "_sudo_user", "_use_sudo_login", "_preserve_sudo_env", "_sudo_password")


def sudo_password(host, arguments) -> str | None:
    """The password this command's sudo is given, if it runs with sudo and has one."""
    if not arguments.get("_sudo") or arguments.get("_su_user"):
        return None
    return arguments.get("_sudo_password") or host.connector_data.get("prompted_sudo_password")


def sudo_reading_stdin(command, arguments) -> StringCommand:
    """``sudo -S`` around the command pyinfra would run without sudo.

    ``-k`` makes sudo ask, and so read the password line, on every command, as pyinfra's own
    ``-A -k`` does. When sudo does not ask (a NOPASSWD rule) that line is left unread, so the
    command's own input is /dev/null: the password never reaches a program sudo runs.
    """
    inner = make_unix_command(
        StringCommand("exec", "</dev/null", "&&", command),
        **{key: value for key, value in arguments.items() if key not in SUDO_ARGUMENTS},
    )
    bits: list = ["sudo", "-H", "-S", "-p", "''", "-k"]
    if arguments.get("_use_sudo_login"):
        bits.append("-i")
    if arguments.get("_preserve_sudo_env"):
        bits.append("-E")
    if arguments.get("_sudo_user"):
        bits += ["-u", QuoteString(arguments["_sudo_user"])]
    return StringCommand(*bits, inner)


class PasswordFirst:
    """The channel's input, read by pyinfra as it sends the command: the password, if that
    command's sudo has one by then (pyinfra may have prompted for it since the first try)."""

    def __init__(self, host, arguments):
        self.host, self.arguments = host, arguments

    def readlines(self) -> list[str]:
        password = sudo_password(self.host, self.arguments)
        return [f"{password}\n"] if password else []


def send_sudo_password_on_stdin() -> None:
    """Make pyinfra's SSH connector give sudo its password on standard input, for this run."""
    connector = ssh.SSHConnector
    if getattr(connector.run_shell_command, "sends_sudo_password_on_stdin", False):
        return
    run_shell_command, make_command = connector.run_shell_command, ssh.make_unix_command_for_host

    def run_with_password_on_stdin(self, command, print_output=False, print_input=False, **arguments):
        if arguments.get("_sudo") and not arguments.get("_su_user"):
            own_input = arguments.get("_stdin") is not None or arguments.get("_get_pty")
            if own_input and sudo_password(self.host, arguments):
                raise PyinfraError(
                    "sudo's password travels on the command's input: a command with its own "
                    "input (_stdin) or a terminal (_get_pty) cannot run with a sudo password"
                )
            if not own_input:
                arguments["_stdin"] = PasswordFirst(self.host, dict(arguments))
        return run_shell_command(self, command, print_output, print_input, **arguments)

    def command_for_host(state, host, command, **arguments):
        if sudo_password(host, arguments):
            return sudo_reading_stdin(command, arguments)
        return make_command(state, host, command, **arguments)

    run_with_password_on_stdin.sends_sudo_password_on_stdin = True
    connector.run_shell_command = run_with_password_on_stdin
    ssh.make_unix_command_for_host = command_for_host
