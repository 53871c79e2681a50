"""A host's configuration, read, checked and derived before any operation is planned.

``load_config(host)`` is called at the top of ``deploy.py``: bad input raises ``ConfigError``
with one line per problem (the key, the value, what was expected) and pyinfra stops before it
has changed anything on any host. This module is the pyinfra glue (the host's data and facts);
the rest of the package is pure and unit-tested without a host:

- ``keys``: every key, declared once (default, check, documentation, secrecy)
- ``checks``: what a value may be, one checker per kind
- ``rules``: what keys must hold together
- ``resolve``: data to configuration (check, rules, derive)
- ``model``: the configuration the deploys are given
"""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.facts.deb import DebPackages
from pyinfra.facts.hardware import Cpus
from pyinfra.facts.server import Command, OsRelease

from ..layout import FREE_SPACE_ALWAYS, FREE_SPACE_FOR_PACKAGES, UPLOAD_COPIES
from ..platforms import BASE_PACKAGES
from .model import (
    DASHBOARD_GROUP,
    LOAD_BALANCER_GROUP,
    ConfigError,
    HorizonConfig,
    HostFacts,
    LoadBalancerConfig,
    Node,
    Theme,
)
from .resolve import resolve, resolve_load_balancer

__all__ = [
    "ConfigError",
    "HorizonConfig",
    "HostFacts",
    "LoadBalancerConfig",
    "Node",
    "Theme",
    "is_load_balancer",
    "load_config",
    "load_load_balancer_config",
    "resolve",
    "resolve_load_balancer",
]


def dashboard_fleet(inventory) -> tuple[Node, ...]:
    """The hosts that serve the dashboard, in inventory order."""
    hosts = inventory.get_group(DASHBOARD_GROUP, default=None)
    if hosts is None:
        hosts = [host for host in inventory if LOAD_BALANCER_GROUP not in host.groups]
    return tuple(Node(host.name, host.data.dict()) for host in hosts)


def is_load_balancer(host) -> bool:
    return LOAD_BALANCER_GROUP in host.groups


def load_load_balancer_config(host) -> LoadBalancerConfig:
    """The load balancer's configuration from its data and the inventory's dashboard hosts."""
    try:
        return resolve_load_balancer(host.data.dict(), dashboard_fleet(host.inventory))
    except ConfigError as error:
        raise ConfigError(f"{host.name}: {error}") from None


def load_config(host) -> HorizonConfig:
    """Gather ``host``'s data and facts and resolve them (see ``resolve``)."""
    os_release = host.get_fact(OsRelease)
    installed = host.get_fact(DebPackages) or {}
    facts = HostFacts(
        os_id=os_release.get("id", ""),
        os_version=os_release.get("version_id", ""),
        fqdn=host.get_fact(Command, "hostname -f 2>/dev/null || uname -n").strip(),
        cpus=host.get_fact(Cpus) or 1,
        name=host.name,
        **_free_space(host, [*FREE_SPACE_FOR_PACKAGES, *FREE_SPACE_ALWAYS, *UPLOAD_COPIES]),
        packages_missing=any(package not in installed for package in BASE_PACKAGES),
    )
    try:
        return resolve(host.data.dict(), facts, dashboard_fleet(host.inventory))
    except ConfigError as error:
        raise ConfigError(f"{host.name}: {error}") from None


def _free_space(host, paths: Sequence[str]) -> dict[str, dict[str, int] | dict[str, str]]:
    """``free_space`` (MiB available) and ``mounts`` (the file system's mount point) of each path,
    measured on its closest existing directory, for ``HostFacts``."""
    script = "; ".join(
        f'd={path}; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; echo "{path} $(df -Pm "$d" | tail -n 1 | awk \'{{print $4, $6}}\')"'
        for path in paths
    )
    output = host.get_fact(Command, script) or ""
    # A mount point may hold spaces: it comes last.
    measured = [fields for fields in (line.split(None, 2) for line in output.splitlines()) if len(fields) == 3 and fields[1].isdigit()]
    return {
        "free_space": {path: int(mib) for path, mib, _ in measured},
        "mounts": {path: mount for path, _, mount in measured},
    }
