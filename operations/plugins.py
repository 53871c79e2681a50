"""Dashboard plugins from PyPI: installed into uWSGI's virtualenv and registered with Horizon.
(The distribution's plugin packages come with Horizon's own, see ``packages.py``.)"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import files, pip, server
from pyinfra.operations.util import any_changed

from . import config_file
from .config import HorizonConfig
from .platforms import LOCAL_ENABLED_DIR, UWSGI_VENV
from .service import STAMPS
from .whole import whole_file

# The plugins a run installed, one name a line: those the next run no longer finds listed are
# uninstalled (pip cannot tell them from the packages it added for them).
INSTALLED_RECORD = f"{STAMPS}/pip-plugins"
LINKS = "/usr/local/sbin/horizon-plugin-links"
# What the host has, in one look: the recorded plugins, the links into the virtualenv that
# Horizon reads, and whether the record and the script are there.
PLUGIN_STATE = (
    f"sed 's/^/recorded /' {INSTALLED_RECORD} 2>/dev/null; [ ! -e {INSTALLED_RECORD} ] || echo record; "
    f"[ ! -e {LINKS} ] || echo script; "
    f"find {LOCAL_ENABLED_DIR} -maxdepth 1 -lname '{UWSGI_VENV}/*' -printf 'linked %f\\n' 2>/dev/null || true"
)


@deploy("Dashboard plugins from PyPI")
def install_pip_plugins(config: HorizonConfig) -> list:
    """
    ``horizon_pip_plugins`` installed with pip into uWSGI's virtualenv and their ``enabled``
    files linked into Horizon's (``horizon-plugin-links``); those a previous run installed and
    no longer listed uninstalled and unlinked. Returns the operations whose change needs the
    static files rebuilt and Horizon reloaded.
    """
    state = (host.get_fact(Command, PLUGIN_STATE) or "").split("\n")
    recorded = {line.removeprefix("recorded ") for line in state if line.startswith("recorded ")}
    dropped = sorted(recorded - {name for name, _ in config.pip_plugins})
    if dropped and config.uwsgi_source == "pip":
        removed = [pip.packages(name="Dashboard plugins dropped", packages=dropped, present=False, virtualenv=UWSGI_VENV)]
    else:
        host.noop("no plugin from PyPI to uninstall (or uWSGI's virtualenv goes with them)")
        removed = []
    if not config.pip_plugins:
        return [*removed, *unregistered(state)]
    installed = pip.packages(
        name="Dashboard plugins from PyPI",
        packages=[requirement for _, requirement in config.pip_plugins],
        virtualenv=UWSGI_VENV,
    )
    return [*removed, installed, registered(config, [installed, *removed])]


def registered(config: HorizonConfig, pip_changes: list):
    """The plugins' ``enabled`` files linked, when pip changed anything or the links are not
    those the plugins have; the record of what is installed."""
    names = " ".join(name for name, _ in config.pip_plugins)
    script = config_file(
        "Plugin registration script", "horizon-plugin-links.j2", LINKS, mode="0755",
        python=config.python, enabled_dir=LOCAL_ENABLED_DIR, venv=UWSGI_VENV,
    )
    out_of_step = host.get_fact(Command, f"[ ! -x {LINKS} ] || {LINKS} --check {names}")
    linked = server.shell(
        name="Plugins from PyPI registered with Horizon",
        commands=[f"{LINKS} {names}"],
        _if=lambda: bool(out_of_step) or any_changed(script, *pip_changes)(),
    )
    whole_file(
        name="Record of the plugins installed from PyPI", path=INSTALLED_RECORD,
        content="".join(f"{name}\n" for name, _ in config.pip_plugins), user="root", group="root", mode="0644",
    )
    return linked


def unregistered(state: list[str]) -> list:
    """No plugin from PyPI: no links into the virtualenv, no script, no record."""
    for word, path in (("script", LINKS), ("record", INSTALLED_RECORD)):
        if word in state:
            files.file(name=f"{path}: no plugin from PyPI", path=path, present=False)
    if not any(line.startswith("linked ") for line in state):
        host.noop("no plugin from PyPI, none to unregister")
        return []
    return [
        server.shell(
            name="Links to plugins from PyPI removed",
            commands=[f"find {LOCAL_ENABLED_DIR} -maxdepth 1 -lname '{UWSGI_VENV}/*' -delete"],
        )
    ]
