"""Facts pyinfra has no single command for."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand


class FileState(FactBase):
    """
    Owner, group, mode (as ``File`` gives it, e.g. ``644``) and SHA-256 of a regular file, or
    ``None`` if there is none: what ``File`` and ``Sha256File`` tell together, in one command
    instead of two (every command is a round trip to the host, and a run with nothing to
    change is mostly round trips).
    """

    def command(self, path: str) -> StringCommand:
        quoted = QuoteString(path)
        return StringCommand("! test -f", quoted, "|| { stat -c '%U %G %a'", quoted, "&& sha256sum", quoted, "; }")

    def process(self, output: list[str]) -> dict:
        user, group, mode = output[0].split()
        return {"user": user, "group": group, "mode": int(mode), "sha256": output[1].split()[0]}
