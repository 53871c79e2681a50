"""Dashboard plugins from PyPI: installed into uWSGI's virtualenv and registered with Horizon.
(The distribution's plugin packages come with Horizon's own, see ``packages.py``.)"""

from __future__ import annotations

from packaging.version import Version
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from . import config_file, remove_all_but
from .facts import probe, probed
from .layout import LOCAL_ENABLED_DIR, PIP_PLUGINS_RECORD, PIP_PLUGINS_SCRIPT, UWSGI_VENV, UWSGI_VENV_PIP
from .service import Changes
from .settings import HorizonConfig
from .whole import whole_file

# What the host has: the recorded plugins, the links into the virtualenv that Horizon reads,
# and whether the record and the script are there.
PLUGIN_STATE = (
    f"sed 's/^/recorded /' {PIP_PLUGINS_RECORD} 2>/dev/null; [ ! -e {PIP_PLUGINS_RECORD} ] || echo record; "
    f"[ ! -e {PIP_PLUGINS_SCRIPT} ] || echo script; "
    f"find {LOCAL_ENABLED_DIR} -maxdepth 1 -lname '{UWSGI_VENV}/*' -printf 'linked %f\\n' 2>/dev/null || true"
)


probe("plugins", lambda: PLUGIN_STATE)


@deploy("Dashboard plugins from PyPI")
def install_pip_plugins(config: HorizonConfig) -> Changes:
    """
    ``horizon_pip_plugins`` installed with pip into uWSGI's virtualenv, never replacing the
    distribution's Horizon or Django, and their ``enabled`` files linked into Horizon's (see the
    ``horizon-pip-plugins`` template); those a previous run installed and no longer listed
    uninstalled and unlinked. Horizon reloads for them, and its static files are rebuilt (see
    ``horizon.configure_horizon``); the record of what is installed is written once linked.
    """
    state = probed("plugins")
    recorded = {line.removeprefix("recorded ").partition("==")[0] for line in state if line.startswith("recorded ")}
    # Without uWSGI from PyPI its virtualenv goes, and the plugins with it.
    removed = remove_all_but(
        "Plugins from PyPI no longer listed",
        [name for name, _ in config.pip_plugins],
        recorded if config.uwsgi_source == "pip" else (),
        lambda dropped: [
            server.shell(
                name="Dashboard plugins dropped", commands=[f"{UWSGI_VENV_PIP} uninstall --yes --quiet {' '.join(dropped)}"]
            )
        ],
    )
    changed = [*removed, *(registered(config, removed) if config.pip_plugins else unregistered(state))]
    return Changes.of("horizon", reload=changed, files=[PIP_PLUGINS_RECORD])


def registered(config: HorizonConfig, removed: list) -> list:
    """The plugins installed in the versions asked for, their ``enabled`` files linked when
    anything changed or the links are not those the plugins have, and the record."""
    names = " ".join(name for name, _ in config.pip_plugins)
    script = config_file(
        "Plugins from PyPI: the deploy's script", "horizon-pip-plugins.j2", PIP_PLUGINS_SCRIPT, mode="0755", config=config
    )
    # Without the script (a first run) everything counts as missing.
    lines = (host.get_fact(Command, f"[ ! -x {PIP_PLUGINS_SCRIPT} ] || {PIP_PLUGINS_SCRIPT} check {names}") or "").split("\n")
    found = dict(line[2:].split(" ") for line in lines if line.startswith("= "))
    # Compared as versions: pip's and pyinfra's string comparison take 8.0 for other than 8.0.0.
    outdated = [
        f"{name}=={version}"
        for name, version in config.pip_plugins
        if name not in found or Version(found[name]) != Version(version)
    ]
    if outdated:
        # Not quiet: when the constraints refuse a release, pip says which one wants what.
        installed = server.shell(
            name=f"Dashboard plugins from PyPI: {' '.join(outdated)}",
            commands=[
                f'constraints="$(mktemp)" && {PIP_PLUGINS_SCRIPT} constraints > "$constraints" && '
                f'{UWSGI_VENV_PIP} install --constraint "$constraints" {" ".join(outdated)}; '
                'installed=$?; rm -f "$constraints"; exit $installed'
            ],
        )
        changes = [installed]
    else:
        host.noop("the plugins from PyPI are installed in the versions asked for")
        changes = []
    linked = server.shell(
        name="Plugins from PyPI registered with Horizon",
        commands=[f"{PIP_PLUGINS_SCRIPT} link {names}"],
        _if=lambda: any(line[:2] in ("+ ", "- ") for line in lines) or any_changed(script, *changes, *removed)(),
    )
    record = whole_file(
        name="Record of the plugins installed from PyPI", path=PIP_PLUGINS_RECORD,
        content="".join(f"{name}=={version}\n" for name, version in config.pip_plugins), user="root", group="root", mode="0644",
    )
    return [*changes, linked, record]


def unregistered(state: list[str]) -> list:
    """No plugin from PyPI: no links into the virtualenv, no script, no record."""
    for word, path in (("script", PIP_PLUGINS_SCRIPT), ("record", PIP_PLUGINS_RECORD)):
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
