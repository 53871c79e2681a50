"""Facts pyinfra has no single command for."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from pyinfra.api import FactBase, QuoteString, StringCommand
from pyinfra.context import ctx_host

# The small questions each module asks the host (a shell command whose output lines it reads),
# registered when the module is imported and asked together by ``Probes``.
PROBES: dict[str, Callable[[], str]] = {}


_ANSWERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def probe(name: str, command: Callable[[], str]) -> None:
    """Register ``command`` (built when first asked, once every module has registered) under a
    name without spaces."""
    PROBES[name] = command


def probed(name: str) -> list[str]:
    """The output lines of probe ``name`` on the current host. Every probe is asked in one
    command, once per run: pyinfra runs a fact's command again each time it is wanted."""
    current = ctx_host.get()
    if current not in _ANSWERS:
        _ANSWERS[current] = current.get_fact(Probes)
    return _ANSWERS[current][name]


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


class Probes(FactBase):
    """
    The output lines of every registered probe, by name, from one command: each would otherwise
    cost a round trip to the host, and a run with nothing to change is mostly round trips.
    """

    def command(self) -> str:
        asked = [f"{{ {command()}; }} 2>/dev/null | sed 's/^/{name} /'" for name, command in sorted(PROBES.items())]
        return "; ".join([*asked, "true"])

    @staticmethod
    def default() -> dict[str, list[str]]:
        # What pyinfra gives when no probe printed anything.
        return {name: [] for name in PROBES}

    def process(self, output: list[str]) -> dict[str, list[str]]:
        lines = self.default()
        for line in output:
            name, _, rest = line.partition(" ")
            lines[name].append(rest)
        return lines
