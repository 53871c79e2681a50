"""The distribution packages Horizon, NGINX, memcached and uWSGI need."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt
from pyinfra.operations.util import any_changed

from .config import HorizonConfig
from .platforms import BASE_PACKAGES, UWSGI_PACKAGES


def install(name: str, packages: Sequence[str], sources: Sequence = ()):
    """
    Install ``packages``, refreshing apt's index first only when it is needed: some package is
    missing, or one of the ``sources`` operations changed apt's sources. A host that already has
    everything is left alone (``apt.packages(update=True)`` would count an index refresh as a
    change on every run).
    """
    installed = host.get_fact(DebPackages)
    missing = [package for package in packages if package not in installed]
    sources_changed = any_changed(*sources) if sources else (lambda: False)
    apt.update(
        name=f"Refresh the package index for: {name}",
        _if=lambda: bool(missing) or sources_changed(),
    )
    # openstack-dashboard's own postinst runs `compress`, which now and then fails on a pyScss
    # thread race (Debian bug #1069097, see horizon.py): a second try configures it.
    return apt.packages(name=name, packages=list(packages), no_recommends=True, _retries=2)


@deploy("Packages")
def install_packages(config: HorizonConfig, sources: Sequence = ()):
    """nginx, memcached, openstack-dashboard and its memcached client, and what uWSGI needs."""
    return install(
        "Install NGINX, memcached, Horizon and uWSGI's requirements",
        BASE_PACKAGES + UWSGI_PACKAGES[config.uwsgi_source],
        sources,
    )
