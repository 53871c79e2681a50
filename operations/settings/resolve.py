"""Raw host data to a checked configuration: every key checked (``keys``), the rules between
keys (``rules``), then what the host derives (defaults that depend on it). Every problem is
collected and raised at once, as ``ConfigError``. Pure: unit-tested without a host."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from typing import Any

from ..layout import HAPROXY_CHECK_SECONDS, HAPROXY_FALL, HAPROXY_RISE, HEALTH_CHECK, MEMCACHED_PORT, MEMCACHED_REPLICA_PORT
from ..platforms import PLATFORMS, Platform
from . import checks as check
from .keys import DEFAULTS, SETTINGS
from .model import (
    DASHBOARD_GROUP,
    AptRepository,
    Backend,
    ConfigError,
    HorizonConfig,
    HostFacts,
    LoadBalancerConfig,
    Node,
)
from .rules import REPOSITORY_KEYS, RULES, Where


def resolve(data: dict[str, Any], facts: HostFacts, fleet: Sequence[Node] = ()) -> HorizonConfig:
    """Turn raw host data into a checked ``HorizonConfig``; raise ``ConfigError`` listing every problem.

    ``fleet`` is every host that serves the dashboard, this one included (none: this one alone).
    """
    platform = _platform(facts)
    problems = _unknown_keys(data)
    values = _checked(data, problems)
    if "horizon_openstack_release" in values:
        try:
            values["horizon_openstack_release"] = _release(
                platform, values["horizon_openstack_release"], has_repository=any(values.get(key) for key in REPOSITORY_KEYS)
            )
        except check.Invalid as expected:
            problems.append(f"horizon_openstack_release = {data.get('horizon_openstack_release')!r}: expected {expected}")
    this = Node(facts.name, data)
    where = Where(platform, facts, tuple(fleet) or (this,), this)
    for rule in RULES:
        problems += rule(values, where)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return _derived(values, where)


def _derived(values: dict[str, Any], where: Where) -> HorizonConfig:
    """The configuration: what the host derives, and every other field its key's value as given
    or defaulted, named without the prefix (``horizon_webroot`` fills ``webroot``)."""
    platform, facts, fleet, this = where.platform, where.facts, where.fleet, where.this
    server_name = values["horizon_server_name"] or facts.fqdn
    derived = dict(
        platform=platform,
        apt_repository=AptRepository(
            url=values["horizon_apt_repository_url"],
            suite=values["horizon_apt_repository_suite"],
            components=values["horizon_apt_repository_components"],
            key_file=values["horizon_apt_repository_key"],
        )
        if values[REPOSITORY_KEYS[0]]
        else None,
        uwsgi_processes=values["horizon_uwsgi_processes"] or max(2, facts.cpus),
        server_name=server_name,
        allowed_hosts=values["horizon_allowed_hosts"] or (server_name,),
        memcached_servers=values["horizon_memcached_servers"] or default_memcached_servers(fleet),
        # Alone, the host keeps each session's second copy itself.
        memcached_replica=not values["horizon_memcached_servers"] and len(fleet) == 1,
        memcached_listen=this.memcached_listen(len(fleet)),
        node_address=this.address,
        drain_seconds=values["horizon_drain_seconds"] if values["horizon_drain_seconds"] is not None else fleet_drain_seconds(len(fleet)),
        trusted_proxies=values["horizon_trusted_proxies"] or (),
        # The distribution's own default: the first of its themes.
        default_theme=values["horizon_default_theme"] or platform.themes[0][0],
    )
    given_as_is = {field: values[f"horizon_{field}"] for field in config_fields() - derived.keys()}
    return HorizonConfig(**given_as_is, **derived)


def backend_name(host_name: str) -> str:
    """What HAProxy calls a dashboard host (``@docker/web-1`` is ``docker-web-1``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", host_name).strip("-")


def default_memcached_servers(fleet: tuple[Node, ...]) -> tuple[str, ...]:
    """Every dashboard host's memcached, which keep each session twice between them (see
    ``horizon_deploy.SessionCopies``); a host alone runs a second one for the second copy."""
    servers = tuple(f"{node.memcached_listen(len(fleet))}:{MEMCACHED_PORT}" for node in fleet)
    if len(fleet) == 1:
        servers += (f"{fleet[0].memcached_listen(1)}:{MEMCACHED_REPLICA_PORT}",)
    return servers


def fleet_drain_seconds(fleet_size: int) -> int:
    """How long the bundled HAProxy takes to take a host out of rotation, or put it back, plus one
    check: nothing to wait for when one host serves the dashboard."""
    if fleet_size < 2:
        return 0
    return HAPROXY_CHECK_SECONDS * (max(HAPROXY_FALL, HAPROXY_RISE) + 1)


def config_fields() -> set[str]:
    return {field.name for field in dataclasses.fields(HorizonConfig)}


def resolve_load_balancer(data: dict[str, Any], fleet: Sequence[Node]) -> LoadBalancerConfig:
    """The load balancer's view: its own port and the dashboard's name, and every dashboard host."""
    problems = _unknown_keys(data)
    values = _checked(data, problems)
    if not fleet:
        problems.append(f"no host in the `{DASHBOARD_GROUP}` group: the load balancer has nothing to balance")
    if not values.get("horizon_server_name"):
        problems.append("horizon_server_name is not set: the health check asks every dashboard host for its "
                        "login page under that name")
    backends = []
    port_key = "horizon_https_port" if values["horizon_tls"] else "horizon_http_port"
    for node in fleet:
        # Each dashboard host's own data, checked here as that host checks it.
        port = node.data.get(port_key, DEFAULTS[port_key])
        try:
            address = check.hostname(node.address)
        except check.Invalid as expected:
            problems.append(f"the address of {node.name} (horizon_node_address) = {node.address!r}: expected {expected}")
            continue
        try:
            backends.append(Backend(backend_name(node.name), address, check.port(port)))
        except check.Invalid as expected:
            problems.append(f"{port_key} of {node.name} = {port!r}: expected {expected}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return LoadBalancerConfig(
        http_port=values["horizon_http_port"],
        tls=values["horizon_tls"],
        https_port=values["horizon_https_port"],
        server_name=values["horizon_server_name"],
        health_path=f"{values['horizon_webroot']}{HEALTH_CHECK}",
        backends=tuple(backends),
        metrics_listen=values["horizon_metrics_listen"],
    )


def _checked(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Every key's value from ``data`` or its default, checked; what fails is added to ``problems``."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = data.get(setting.name, setting.default)
        try:
            values[setting.name] = setting.check(raw)
        except check.Invalid as expected:
            shown = "(value hidden)" if setting.secret else repr(raw)
            problems.append(f"{setting.name} = {shown}: expected {expected}")
    return values


def _unknown_keys(data: dict[str, Any]) -> list[str]:
    problems = []
    for key in sorted(k for k in data if k.startswith("horizon_") and k not in DEFAULTS):
        close = difflib.get_close_matches(key, DEFAULTS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.append(f"{key}: not a configuration key of this deploy{hint}")
    return problems


def _platform(facts: HostFacts) -> Platform:
    platform = PLATFORMS.get((facts.os_id, facts.os_version))
    if platform is None:
        supported = ", ".join(p.name for p in PLATFORMS.values())
        raise ConfigError(
            f"unsupported distribution {facts.os_id} {facts.os_version or '(no VERSION_ID)'}: "
            f"this deploy supports {supported}"
        )
    return platform


def _release(platform: Platform, requested: str, has_repository: bool) -> str:
    if requested == "auto":
        return platform.default_release()
    if requested in platform.known_releases() or has_repository:
        return requested
    known = ", ".join(platform.known_releases())
    if platform.cloud_archive:
        expected = f"a release the Ubuntu Cloud Archive publishes for {platform.name}: {known}"
    else:
        expected = (
            f"{platform.openstack_release} (the release {platform.name} ships), or another one "
            "together with horizon_apt_repository_url pointing at a repository that has it"
        )
    raise check.Invalid(f"`auto` or {expected}")
