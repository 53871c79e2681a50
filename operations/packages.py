"""The distribution packages Horizon, NGINX, memcached and uWSGI need."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.server import Command
from pyinfra.operations import apt, server
from pyinfra.operations.util import any_changed

from .config import HorizonConfig
from .platforms import BASE_PACKAGES, UWSGI_PACKAGES


def install(name: str, packages: Sequence[str], sources: Sequence = ()) -> list:
    """
    Install ``packages``, refreshing apt's index first only when it is needed: some package is
    missing, or one of the ``sources`` operations changed apt's sources. A host that already has
    everything is left alone (``apt.packages(update=True)`` would count an index refresh as a
    change on every run). Returns the operations that change installed packages.
    """
    # A run killed while dpkg was at work (or a lost connection) leaves packages unpacked or
    # half-configured, and apt refuses to install anything until they are finished.
    finished = []
    if host.get_fact(Command, "dpkg --audit 2>/dev/null || true"):
        finished = server.shell(
            name="Finish the package installs an interrupted run left",
            commands=["DEBIAN_FRONTEND=noninteractive dpkg --configure -a"],
            # Their postinst may be the dashboard's, and its compress race (see below).
            _retries=2,
        )
        finished = [finished]
    else:
        host.noop("dpkg has no unfinished install")
    installed = host.get_fact(DebPackages)
    missing = [package for package in packages if package not in installed]
    sources_changed = any_changed(*sources) if sources else (lambda: False)
    apt.update(
        name=f"Refresh the package index for: {name}",
        _if=lambda: bool(missing) or sources_changed(),
    )
    # openstack-dashboard's own postinst runs `compress`, which now and then fails on a pyScss
    # thread race (Debian bug #1069097, see horizon.py): a second try configures it.
    return [*finished, apt.packages(name=name, packages=list(packages), no_recommends=True, _retries=2)]


@deploy("Packages")
def install_packages(config: HorizonConfig, sources: Sequence = ()) -> list:
    """nginx, memcached, openstack-dashboard and its memcached client, and what uWSGI needs."""
    return install(
        "Install NGINX, memcached, Horizon and uWSGI's requirements",
        BASE_PACKAGES + UWSGI_PACKAGES[config.uwsgi_source],
        sources,
    )
