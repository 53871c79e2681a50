"""An operation for files written whole or not at all."""

from __future__ import annotations

import hashlib
import posixpath
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation

from .facts import FileState
from .layout import UPLOADS, UPLOADS_PARENT


@operation()
def whole_file(path: str, content: str | bytes, user: str, group: str, mode: str):
    """
    Keep ``content`` in ``path``, written whole or not at all.

    pyinfra's own uploads write in place (over SFTP, or with ``cp`` from a temporary file): a
    run killed midway can leave half a file where a service reads it. Here the content goes to a
    hidden file beside ``path``, created with no access for others and given its owner and mode
    before it is renamed over ``path``; a rename within a directory is atomic.

    + path: the file on the host
    + content: what it must hold (text, or bytes for a binary file)
    + user: owner of the file
    + group: group of the file
    + mode: octal mode, such as ``"0644"``

    **Example:**

    .. code:: python

        whole_file(
            name="memcached configuration",
            path="/etc/memcached.conf",
            content=render("memcached.conf.j2", config=config, port=11211, pidfile="/run/memcached/memcached.pid"),
            user="root",
            group="root",
            mode="0644",
        )
    """
    data = content.encode() if isinstance(content, str) else content
    current = host.get_fact(FileState, path=path)
    if current and current["sha256"] == hashlib.sha256(data).hexdigest():
        if (current["user"], current["group"], current["mode"]) == (user, group, int(mode)):
            host.noop(f"{path} already holds this content")
        else:
            yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(path))
            yield StringCommand("chmod", mode, QuoteString(path))
        return

    directory, name = posixpath.split(path)
    staged = posixpath.join(directory, f".{name}.pyinfra-new")
    # Three round trips: every command to a host costs one, and a cold deploy writes a dozen files.
    yield StringCommand(
        "mkdir -p", QuoteString(directory), "&& umask 077 && : >", QuoteString(staged),
        # With --sudo, pyinfra uploads as the SSH user to a temporary file, then copies it into
        # place as root. In the shared /tmp that file is readable by every user until copied:
        # here it lands in a directory only the SSH user (sudo's SUDO_USER) can enter.
        "&& install -d -m 0755", UPLOADS_PARENT,
        '&& install -d -m 0700 -o "${SUDO_USER:-$(id -un)}"', UPLOADS,
    )
    yield FileUploadCommand(BytesIO(data), staged, remote_temp_filename=host.get_temp_filename(staged, temp_directory=UPLOADS))
    yield StringCommand(
        "chown", QuoteString(f"{user}:{group}"), QuoteString(staged),
        "&& chmod", mode, QuoteString(staged),
        "&& mv -f", QuoteString(staged), QuoteString(path),
    )
