"""An operation for files that hold a secret: their content never appears in pyinfra's output."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File

from .whole import whole_file


@operation()
def secret_file(path: str, user: str, group: str, generate: str | None = None, value: str | None = None):
    """
    Keep a secret in a 0600 file on the host.

    Unlike ``files.put``, the content is never shown (not even with ``--diff``), never passed on
    a command line, and a generated secret never leaves the host.

    + path: the file on the host
    + user: owner of the file (the only one who can read it)
    + group: group of the file
    + generate: shell command that prints a new secret on the host, run only when the file is
      missing and no ``value`` is given (one of the two is required)
    + value: the secret to store, written whole (see ``whole_file``); ``None`` keeps what the
      file holds

    **Example:**

    .. code:: python

        secret_file(
            name="Django secret key",
            path="/etc/openstack-dashboard/secret_key",
            user="horizon",
            group="horizon",
            generate="head -c 48 /dev/urandom | base64 -w0",
        )
    """
    if value is not None:
        yield from whole_file._inner(path=path, content=value, user=user, group=group, mode="0600")
        return
    current = host.get_fact(File, path=path)
    if current:
        host.noop(f"{path} exists: its secret is kept")
    elif generate is None:
        raise OperationError(f"{path} is missing and neither a value nor a generator was given")
    else:
        # umask before the redirection: the file is never readable by others, even briefly.
        yield StringCommand(f"umask 077 && {generate} >", QuoteString(path))

    if not current or (current["user"], current["group"], current["mode"]) != (user, group, 600):
        yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(path))
        yield StringCommand("chmod", "0600", QuoteString(path))
