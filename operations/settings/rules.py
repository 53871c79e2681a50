"""What keys must hold together, beyond each value's own check: one function per rule, all in
``RULES``. Each takes the checked values and where they are deployed, and returns its problems,
one line each (the keys, what they hold, what is expected)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..layout import FREE_SPACE_ALWAYS, FREE_SPACE_FOR_PACKAGES, UPLOAD_COPIES
from ..platforms import Platform
from . import checks as check
from .model import HostFacts, Node

REPOSITORY_KEYS = ("horizon_apt_repository_url", "horizon_apt_repository_suite", "horizon_apt_repository_key")


@dataclass(frozen=True)
class Where:
    """Where the values are deployed: the host's platform and facts, and the dashboard's hosts
    (``this`` among them)."""

    platform: Platform
    facts: HostFacts
    fleet: Sequence[Node]
    this: Node


def repository(values: dict[str, Any], where: Where) -> list[str]:
    given = [key for key in REPOSITORY_KEYS if values.get(key)]
    if not given or len(given) == len(REPOSITORY_KEYS):
        return []
    missing = ", ".join(key for key in REPOSITORY_KEYS if key not in given)
    return [f"{given[0]} is set but {missing} is not: an extra repository needs a URL, a suite and a signing key"]


def fleet(values: dict[str, Any], where: Where) -> list[str]:
    """What several hosts serving one dashboard must share, and this host's data lacks; and the
    other hosts' own addresses, checked as this host's are."""
    if len(where.fleet) < 2:
        return []
    hosts = f"{len(where.fleet)} hosts serve this dashboard ({', '.join(node.name for node in where.fleet)})"
    problems = []
    if not values.get("horizon_secret_key"):
        problems.append(f"horizon_secret_key is not set, but {hosts}: they must share one secret key, "
                        "or a session signed by one is refused by the others")
    if not values.get("horizon_server_name"):
        problems.append(f"horizon_server_name is not set, but {hosts}: they must answer to one name, "
                        "the one users (and the load balancer) reach the dashboard by")
    listen = where.this.memcached_listen(len(where.fleet))
    if not values.get("horizon_memcached_servers") and (listen.startswith("127.") or listen in ("localhost", "::1")):
        problems.append(f"horizon_memcached_listen = {listen!r}: expected an address the other dashboard "
                        f"hosts reach, because {hosts} and they share their memcached")
    if not values.get("horizon_memcached_servers"):
        # This host's cache list names every other host's memcached by its data.
        for node in where.fleet:
            if node is where.this:
                continue
            listen = node.memcached_listen(len(where.fleet))
            try:
                check.listen_address(listen)
            except check.Invalid as expected:
                problems.append(f"horizon_memcached_listen of {node.name} = {listen!r}: expected {expected}")
    return problems


def tls(values: dict[str, Any], where: Where) -> list[str]:
    problems = []
    if bool(values.get("horizon_tls_certificate")) != bool(values.get("horizon_tls_key")):
        problems.append("horizon_tls_certificate and horizon_tls_key go together: give both, or neither for a "
                        "self-signed certificate")
    if values.get("horizon_tls") is False and not values.get("horizon_trusted_proxies"):
        problems.append("horizon_tls is false but horizon_trusted_proxies is not set: name the TLS-terminating "
                        "proxies, or anyone could claim a secure connection with X-Forwarded-Proto")
    if values.get("horizon_tls") is False and values.get("horizon_tls_client_ca"):
        problems.append("horizon_tls_client_ca is set but horizon_tls is false: client certificates are checked "
                        "where TLS ends, by the proxy in front")
    return problems


def keystone_domains(values: dict[str, Any], where: Where) -> list[str]:
    if values.get("horizon_keystone_domain_choices") and values.get("horizon_keystone_multidomain") is False:
        return ["horizon_keystone_domain_choices is set but horizon_keystone_multidomain is false: the "
                "login page asks for a domain only with multidomain support"]
    return []


def themes(values: dict[str, Any], where: Where) -> list[str]:
    if "horizon_themes" not in values:
        return []
    platform = where.platform
    own = [name for name, _, _ in platform.themes]
    problems = [
        f"horizon_themes names {theme.name}, one of Horizon's own themes on {platform.name} ({', '.join(own)})"
        for theme in values["horizon_themes"]
        if theme.name in own
    ]
    available = own + [theme.name for theme in values["horizon_themes"] if theme.name not in own]
    offered = values.get("horizon_selectable_themes") or available
    problems += [
        f"horizon_selectable_themes names {name}, which is neither Horizon's nor one of horizon_themes ({', '.join(available)})"
        for name in offered
        if name not in available
    ]
    default = values.get("horizon_default_theme")
    if default and default not in offered:
        problems.append(f"horizon_default_theme = {default!r}: expected one of the themes offered ({', '.join(offered)})")
    return problems


def session_database(values: dict[str, Any], where: Where) -> list[str]:
    if values.get("horizon_session_engine") not in ("db", "cached_db"):
        return []
    needed = [key for key in ("horizon_database_host", "horizon_database_password") if not values.get(key)]
    if not needed:
        return []
    return [f"horizon_session_engine is {values['horizon_session_engine']} but {' and '.join(needed)} "
            "not set: sessions in a database need its server and password"]


def pip_plugins(values: dict[str, Any], where: Where) -> list[str]:
    if values.get("horizon_pip_plugins") and values.get("horizon_uwsgi_source") != "pip":
        return ["horizon_pip_plugins is set but horizon_uwsgi_source is not pip: plugins from PyPI go into "
                "uWSGI's virtualenv, which only a uWSGI from PyPI has"]
    return []


def websso(values: dict[str, Any], where: Where) -> list[str]:
    choices = dict(values.get("horizon_websso_choices", ()))
    problems = [
        f"horizon_websso_idp_mapping maps {choice}, which horizon_websso_choices does not offer"
        for choice, _ in values.get("horizon_websso_idp_mapping", ())
        if choice not in choices
    ]
    initial = values.get("horizon_websso_initial_choice")
    if choices and initial not in choices:
        problems.append(f"horizon_websso_initial_choice = {initial!r}: expected one of horizon_websso_choices ({', '.join(choices)})")
    return problems


def disk_space(values: dict[str, Any], where: Where) -> list[str]:
    facts = where.facts
    needed = {**FREE_SPACE_ALWAYS, **(FREE_SPACE_FOR_PACKAGES if facts.packages_missing else {})}
    return [
        f"{path}: only {facts.free_space[path]} MiB free on its file system, the deploy needs {mib} MiB there"
        for path, mib in needed.items()
        if path in facts.free_space and facts.free_space[path] < mib
    ]


def upload_space(values: dict[str, Any], where: Where) -> list[str]:
    """Room for one upload of the largest size accepted, on disk as many times at once as it is
    copied while it passes (``UPLOAD_COPIES``), added up per file system."""
    largest = check.size_bytes(values.get("horizon_upload_max_body_size") or "0") >> 20
    if not largest:
        return []
    facts = where.facts
    # Per file system (its mount point): MiB needed, and the paths on it.
    needed: dict[str, tuple[int, list[str]]] = {}
    for path, copies in UPLOAD_COPIES.items():
        if path in facts.mounts:
            mib, paths = needed.get(facts.mounts[path], (0, []))
            needed[facts.mounts[path]] = (mib + copies * largest, [*paths, path])
    problems = []
    for mount, (mib, paths) in needed.items():
        free = facts.free_space[paths[0]]
        if free < mib:
            problems.append(
                f"horizon_upload_max_body_size = {values['horizon_upload_max_body_size']!r}: an upload that large needs "
                f"{mib} MiB free on the file system of {' and '.join(paths)} ({mount}), which has {free} MiB; "
                "expected a smaller size, or more room there"
            )
    return problems


RULES: tuple[Callable[[dict[str, Any], Where], list[str]], ...] = (
    repository,
    fleet,
    tls,
    keystone_domains,
    themes,
    session_database,
    pip_plugins,
    websso,
    disk_space,
    upload_space,
)
