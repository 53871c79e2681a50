"""The distribution packages Horizon, NGINX, memcached and uWSGI need."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import Directory
from pyinfra.facts.server import Command
from pyinfra.operations import apt, server
from pyinfra.operations.util import any_changed

from .layout import DASHBOARD_PACKAGE_LISTS, LOCAL_ENABLED_DIR, MEMCACHED_PACKAGE_LIST
from .platforms import BASE_PACKAGES, DASHBOARD_PLUGINS, SESSION_DATABASE_PACKAGES, UWSGI_PACKAGES
from .service import Changes
from .settings import HorizonConfig


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


def leave_static_build_to_deploy(config: HorizonConfig) -> None:
    """The dashboard package's postinst does not build static files: this deploy does, once,
    serially, with the settings it writes (see ``Platform.postinst_static_build_guard``)."""
    guard = config.platform.postinst_static_build_guard
    if guard is None:
        host.noop(f"{config.platform.name}: the package's own static build cannot be skipped")
        return
    wanted = f"root root 644 {guard}"
    current = (host.get_fact(Command, f"dpkg-statoverride --list {guard} || true") or "").strip()
    server.shell(
        name=f"{guard} not executable (dpkg-statoverride): the package leaves static files to the deploy",
        commands=[
            f"dpkg-statoverride --remove {guard} >/dev/null 2>&1 || true",
            # --update applies the mode now if the package is already installed (a warning otherwise).
            f"dpkg-statoverride --update --add {wanted} 2>/dev/null",
        ],
        _if=lambda: current != wanted,
    )


@deploy("Packages")
def install_packages(config: HorizonConfig, sources: Sequence = ()) -> Changes:
    """nginx, memcached, openstack-dashboard and its memcached client, NGINX's Brotli module and
    the command making the twins where the distribution has them, what uWSGI needs, the
    database driver when sessions are in a database, and the dashboard plugins asked for; the
    plugins not asked for purged. Horizon reloads for them; memcached does not restart for its
    package in the run that installs it (the package's own postinst restarts it), but dpkg's
    list of its files is newer than its stamp: the next roll-out restarts it, and gives it back
    the sessions the postinst's restart lost."""
    leave_static_build_to_deploy(config)
    driver = SESSION_DATABASE_PACKAGES if config.session_engine != "cache" else ()
    installed = install(
        "Install NGINX, memcached, Horizon, uWSGI's requirements and the plugins",
        (
            *BASE_PACKAGES, *config.platform.packages, *config.platform.brotli_packages,
            *UWSGI_PACKAGES[config.uwsgi_source], *driver, *config.plugins,
        ),
        sources,
    )
    unwanted = [package for package in DASHBOARD_PLUGINS.values() if package not in config.plugins]
    purged = apt.packages(
        name="Purge the dashboard plugins not asked for",
        packages=unwanted,
        present=False,
        purge=True,
    )
    # Checked before the purge, which may remove it after (see LOCAL_ENABLED_DIR).
    missing = host.get_fact(Directory, path=LOCAL_ENABLED_DIR) is None
    server.shell(
        name=f"{LOCAL_ENABLED_DIR}, which Horizon imports",
        commands=[f"install -d -o root -g root -m 0755 {LOCAL_ENABLED_DIR}"],
        _if=lambda: missing or purged.did_change(),
    )
    return Changes.of("horizon", reload=[*installed, purged], files=DASHBOARD_PACKAGE_LISTS) + Changes.of(
        "memcached", files=[MEMCACHED_PACKAGE_LIST]
    )
