"""Read, coerce and check a host's configuration before any operation is planned.

``load_config(host)`` is called at the top of ``deploy.py``: bad input raises ``ConfigError``
with one line per problem (the key, the value, what was expected) and pyinfra stops before it
has changed anything on any host. ``resolve`` is the pure part, unit-tested without a host.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import os
import re
import tarfile
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pyinfra.api.exceptions import PyinfraError

from . import TEMPLATES
from .defaults import DEFAULTS, SETTINGS, Setting
from .layout import (
    DASHBOARD_DIR,
    FREE_SPACE_ALWAYS,
    FREE_SPACE_FOR_PACKAGES,
    HEALTH_CHECK,
    HORIZON_USER,
    MANAGE_PY,
    MEMCACHED_PORT,
    POLICY_SERVICES,
    SETTINGS_DROPIN_NAME,
    SYSTEM_PYTHON,
    UWSGI_VENV_PYTHON,
)
from .platforms import DASHBOARD_PLUGINS, PLATFORMS, UPSTREAM_THEMES, Platform


class ConfigError(PyinfraError):
    """Host data that cannot be deployed; raised before any operation runs."""


@dataclass(frozen=True)
class HostFacts:
    """The few facts about a host that configuration depends on."""

    os_id: str
    os_version: str
    fqdn: str
    cpus: int
    # The inventory name pyinfra knows the host by.
    name: str = "localhost"
    # MiB available on the file system of each path the deploy writes to (see layout).
    free_space: dict[str, int] = field(default_factory=dict)
    packages_missing: bool = False


# Inventory groups: the hosts that serve the dashboard, and the optional load balancers in front
# of them. Without a `horizon` group, every host that is not a load balancer serves it.
DASHBOARD_GROUP = "horizon"
LOAD_BALANCER_GROUP = "horizon_loadbalancers"
LOOPBACK = "127.0.0.1"
# What makes a directory a Horizon theme: Horizon compiles both into the theme's stylesheet.
THEME_FILES = ("_variables.scss", "_styles.scss")
# The themes upstream Horizon ships; a distribution may add its own (``Platform.themes``).
BUILTIN_THEME_NAMES = tuple(name for name, _, _ in UPSTREAM_THEMES)


@dataclass(frozen=True)
class Node:
    """A dashboard host as every host of the deploy sees it: its inventory name and raw data."""

    name: str
    data: dict[str, Any] = field(hash=False, compare=False)

    @property
    def address(self) -> str:
        """Where the other hosts reach it: set, or the name pyinfra connects to."""
        connected_as = self.name.rpartition("/")[2] if self.name.startswith("@") else self.name
        return self.data.get("horizon_node_address") or self.data.get("ssh_hostname") or connected_as

    def memcached_listen(self, fleet_size: int) -> str:
        return self.data.get("horizon_memcached_listen") or (self.address if fleet_size > 1 else LOOPBACK)


@dataclass(frozen=True)
class AptRepository:
    url: str
    suite: str
    components: tuple[str, ...]
    key_file: str


@dataclass(frozen=True)
class Theme:
    name: str
    label: str
    # A local directory or tar archive, and where in it the theme starts ("" for its top).
    source: str
    root: str

    @property
    def is_archive(self) -> bool:
        return not Path(self.source).is_dir()


@dataclass(frozen=True)
class HorizonConfig:
    platform: Platform
    openstack_release: str
    apt_repository: AptRepository | None
    uwsgi_source: str
    uwsgi_version: str
    uwsgi_processes: int
    uwsgi_threads: int
    keystone_url: str
    server_name: str
    allowed_hosts: tuple[str, ...]
    webroot: str
    memcached_servers: tuple[str, ...]
    memcached_listen: str
    memcached_memory: int
    # Never part of repr(): configs end up in logs and tracebacks.
    secret_key: str | None = field(repr=False)
    time_zone: str
    session_timeout: int
    http_port: int
    static_max_age: int
    node_address: str
    password_regex: str
    password_help: str
    tls: bool
    https_port: int
    tls_certificate: str | None
    tls_key: str | None
    tls_profile: str
    tls_client_ca: str | None
    hsts_max_age: int
    trusted_proxies: tuple[str, ...]
    login_rate: int
    login_burst: int
    max_body_size: str
    upload_max_body_size: str
    nginx_extra_directives: tuple[str, ...]
    api_timeout: int
    log_level: str
    keystone_regions: tuple[tuple[str, str], ...]
    keystone_multidomain: bool
    keystone_default_domain: str
    keystone_domain_choices: tuple[str, ...]
    keystone_default_role: str
    websso_choices: tuple[tuple[str, str], ...]
    websso_idp_mapping: tuple[tuple[str, tuple[str, str]], ...]
    websso_initial_choice: str
    websso_keystone_url: str | None
    endpoint_type: str
    api_ca_certificate: str | None
    site_branding: str
    site_branding_link: str | None
    help_url: str | None
    # (name, Python literal), sorted.
    extra_settings: tuple[tuple[str, str], ...]
    customization_module: str | None
    # Package names, in the order given.
    plugins: tuple[str, ...]
    # (name as pip normalises it, version), by name.
    pip_plugins: tuple[tuple[str, str], ...]
    session_engine: str
    database_host: str | None
    database_port: int
    database_name: str
    database_user: str
    database_password: str | None = field(repr=False)
    themes: tuple[Theme, ...]
    default_theme: str
    selectable_themes: tuple[str, ...]
    logo: str | None
    logo_splash: str | None
    favicon: str | None
    # (service, ((rule, check), ...)), sorted: a dict would make the config unhashable.
    policy_overrides: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    @property
    def uses_cloud_archive(self) -> bool:
        return self.platform.needs_cloud_archive(self.openstack_release)

    @property
    def static_url(self) -> str:
        return f"{self.webroot}static/"

    @property
    def health_path(self) -> str:
        return f"{self.webroot}{HEALTH_CHECK}"

    @property
    def settings_dropin(self) -> str:
        """Where this host's Horizon reads the deploy's settings drop-in (see ``Platform``)."""
        return f"{self.platform.settings_dropin_dir}/{SETTINGS_DROPIN_NAME}"

    @property
    def python(self) -> str:
        """The Python Horizon runs in: uWSGI's virtualenv, where plugins from PyPI are, or the system's."""
        return UWSGI_VENV_PYTHON if self.uwsgi_source == "pip" else SYSTEM_PYTHON

    def manage(self, command: str) -> str:
        """``manage.py command`` as the uWSGI user, who must read the settings, in that Python."""
        return f"cd {DASHBOARD_DIR} && runuser -u {HORIZON_USER} -- {self.python} {MANAGE_PY} {command}"


@dataclass(frozen=True)
class Backend:
    name: str
    address: str
    port: int


@dataclass(frozen=True)
class LoadBalancerConfig:
    http_port: int
    # With TLS, connections pass through to the dashboard hosts, which hold the certificate.
    tls: bool
    https_port: int
    # The Host header and path of the dashboards' health check.
    server_name: str
    health_path: str
    backends: tuple[Backend, ...]


class _Invalid(ValueError):
    """What a value should have been; config turns it into a full message."""


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_IPV6 = re.compile(r"^\[?[0-9A-Fa-f:.]+\]?$")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")
_VERSION = re.compile(r"^\d+(\.\d+)+$")
_WEBROOT = re.compile(r"^/([A-Za-z0-9._~-]+/)*$")
_SIZE = re.compile(r"^\d+[kKmMgG]?$")


def _as_list(value: Any) -> list:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _Invalid("a list, or a comma-separated string")


def _as_int(value: Any, expected: str) -> int:
    if isinstance(value, bool):
        raise _Invalid(expected)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _Invalid(expected)


def _positive_int(value: Any) -> int:
    number = _as_int(value, "a whole number of at least 1")
    if number < 1:
        raise _Invalid("a whole number of at least 1")
    return number


def _as_int_between(value: Any, low: int, high: int, expected: str) -> int:
    number = _as_int(value, expected)
    if not low <= number <= high:
        raise _Invalid(expected)
    return number


def _port(value: Any) -> int:
    return _as_int_between(value, 1, 65535, "a TCP port, a whole number from 1 to 65535")


def _url(value: Any) -> str:
    expected = "an http:// or https:// URL with a host name"
    if not isinstance(value, str):
        raise _Invalid(expected)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as error:
        raise _Invalid(f"{expected} ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise _Invalid(expected)
    return value.rstrip("/")


def _hostname(value: Any) -> str:
    if isinstance(value, str) and (_HOSTNAME.match(value) or _IPV6.match(value)):
        return value
    raise _Invalid("a DNS host name or an IP address")


def _allowed_host(value: Any) -> str:
    if value == "*":
        raise _Invalid("explicit host names: a wildcard `*` lets any Host header through")
    if isinstance(value, str) and value.startswith("."):
        return "." + _hostname(value[1:])
    return _hostname(value)


def _listen_address(value: Any) -> str:
    if value in ("0.0.0.0", "::", "[::]", "*"):
        raise _Invalid("one address of this host, not a wildcard: memcached has no authentication")
    return _hostname(value)


def _host_port(value: Any) -> str:
    if isinstance(value, str) and ":" in value:
        host, _, port = value.rpartition(":")
        _hostname(host)
        _port(port)
        return value
    raise _Invalid("`host:port` entries such as 127.0.0.1:11211")


def _word(value: Any) -> str:
    if isinstance(value, str) and _WORD.match(value):
        return value
    raise _Invalid("a single word of letters, digits and . _ / + -")


def _version(value: Any) -> str:
    if isinstance(value, str) and _VERSION.match(value):
        return value
    raise _Invalid("a release number such as 2.0.31")


def _webroot(value: Any) -> str:
    if isinstance(value, str) and _WEBROOT.match(value):
        return value
    raise _Invalid("a URL path that starts and ends with `/`, such as `/` or `/dashboard/`")


def _size(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _SIZE.match(value):
        return value
    raise _Invalid("a size in NGINX's units: bytes, or a number followed by k, m or g, such as 1m")


def _nginx_directives(value: Any) -> tuple[str, ...]:
    expected = "NGINX directives, one per entry, each on one line and ending with `;`"
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)):
        raise _Invalid(expected)
    for entry in entries:
        if not isinstance(entry, str) or "\n" in entry or not entry.strip().endswith(";"):
            raise _Invalid(expected)
    return tuple(entry.strip() for entry in entries)


def _api_timeout(value: Any) -> int:
    return _as_int_between(value, 1, 50, "a whole number of seconds from 1 to 50, below uWSGI's harakiri (60 s)")


def _json_mapping(value: Any, expected: str) -> dict:
    """A mapping, given as one or (on the command line) as JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise _Invalid(expected + " (given as text: JSON)") from None
    if not isinstance(value, dict):
        raise _Invalid(expected)
    return value


def _policy_overrides(value: Any) -> tuple:
    expected = (
        "a mapping of services (" + ", ".join(POLICY_SERVICES) + ") to mappings of policy rules to "
        'check strings, such as {"identity": {"identity:list_projects": "role:admin"}}'
    )
    value = _json_mapping(value, expected)
    if not all(
        service in POLICY_SERVICES
        and isinstance(rules, dict)
        and all(isinstance(rule, str) and rule and isinstance(check, str) for rule, check in rules.items())
        for service, rules in value.items()
    ):
        raise _Invalid(expected)
    return tuple(sorted((service, tuple(sorted(rules.items()))) for service, rules in value.items() if rules))


def _local_file(value: Any) -> str:
    if isinstance(value, str) and Path(value).is_file() and os.access(value, os.R_OK):
        return value
    raise _Invalid("the path of a readable file on the machine running pyinfra")


def _secret(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 32 and not any(c.isspace() for c in value):
        return value
    raise _Invalid("at least 32 characters without spaces")


def _password(value: Any) -> str:
    if isinstance(value, str) and value and not any(c in value for c in "\r\n\0"):
        return value
    raise _Invalid("a non-empty password on one line")


def _time_zone(value: Any) -> str:
    if isinstance(value, str) and value in zoneinfo.available_timezones():
        return value
    raise _Invalid("an IANA time zone name such as UTC or Europe/Paris")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise _Invalid("true or false")


def _network(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise _Invalid("IP addresses or CIDR ranges such as 10.0.0.5 or 10.0.0.0/24") from None


def _password_regex(value: Any) -> str:
    expected = "a regular expression that refuses an empty password, such as ^.{12,}$"
    try:
        accepts_empty = re.fullmatch(value, "") is not None if isinstance(value, str) else True
    except re.error as error:
        raise _Invalid(f"{expected} ({error})") from None
    if accepts_empty:
        raise _Invalid(expected)
    return value


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip() and "\n" not in value:
        return value
    raise _Invalid("one line of text")


def _text_list(value: Any) -> tuple[str, ...]:
    return tuple(_text(item) for item in _as_list(value))


def _regions(value: Any) -> tuple[tuple[str, str], ...]:
    expected = 'a mapping of region names to Keystone v3 URLs, such as {"east": "https://keystone.east:5000/v3"}'
    value = _json_mapping(value, expected)
    try:
        return tuple((_text(name), _url(url)) for name, url in value.items())
    except _Invalid:
        raise _Invalid(expected) from None


def theme_root(paths: set[str]) -> str | None:
    """Where a theme starts among a directory's or an archive's file paths: at the top, or in
    its one top-level directory; Horizon looks for the SCSS there or in its ``static/``."""
    tops = {path.split("/", 1)[0] for path in paths if "/" in path}
    for root in ("", *(f"{top}/" for top in tops if len(tops) == 1)):
        for under in ("", "static/"):
            if all(f"{root}{under}{name}" in paths for name in THEME_FILES):
                return root
    return None


def _theme_paths(source: str) -> set[str]:
    if Path(source).is_dir():
        return {str(path.relative_to(source)) for path in Path(source).rglob("*")}
    if Path(source).is_file() and tarfile.is_tarfile(source):
        with tarfile.open(source) as archive:
            return {name.removeprefix("./") for name in archive.getnames()}
    raise _Invalid("a directory or a tar archive")


def _themes(value: Any) -> tuple[Theme, ...]:
    expected = (
        'a mapping of theme names to local directories or tar archives, such as {"acme": "themes/acme"}, '
        'or to {"label": ..., "source": ...}'
    )
    themes = []
    for name, entry in _json_mapping(value, expected).items():
        if isinstance(entry, str):
            entry = {"source": entry}
        source, label = (entry.get("source"), entry.get("label", name)) if isinstance(entry, dict) else (None, None)
        if not isinstance(source, str) or not isinstance(label, str):
            raise _Invalid(expected)
        if _theme_name(name) in BUILTIN_THEME_NAMES:
            raise _Invalid(f"names other than Horizon's own themes ({name} is one)")
        try:
            root = theme_root(_theme_paths(source))
        except (_Invalid, OSError, tarfile.TarError) as error:
            raise _Invalid(f"{expected}; {source} is not readable as a directory or tar archive ({error})") from None
        if root is None:
            raise _Invalid(f"a theme's {' and '.join(THEME_FILES)} in {source}, at its top, in static/ or in one top-level directory")
        themes.append(Theme(name, _text(label), str(Path(source).resolve()), root))
    return tuple(themes)


def _plugins(value: Any) -> tuple[str, ...]:
    unknown = [name for name in _as_list(value) if name not in DASHBOARD_PLUGINS]
    if unknown:
        raise _Invalid(f"plugins among {', '.join(DASHBOARD_PLUGINS)}, not {', '.join(map(str, unknown))}")
    return tuple(DASHBOARD_PLUGINS[name] for name in _as_list(value))


_THEME_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def _pip_requirement(value: Any) -> Requirement:
    try:
        requirement = Requirement(str(value))
    except InvalidRequirement:
        requirement = None
    specifiers = list(requirement.specifier) if requirement else []
    if (
        requirement is None
        or len(specifiers) != 1
        or specifiers[0].operator != "=="
        or "*" in specifiers[0].version
        or requirement.marker
        or requirement.extras
    ):
        raise _Invalid("pip requirements pinned to one version with ==, such as heat-dashboard==8.0.0")
    return requirement


def _pip_requirements(value: Any) -> tuple[tuple[str, str], ...]:
    """(name as pip normalises it, version), by name."""
    requirements = [_pip_requirement(item) for item in _as_list(value)]
    return tuple(sorted((canonicalize_name(r.name), next(iter(r.specifier)).version) for r in requirements))


def _theme_name(value: Any) -> str:
    if isinstance(value, str) and _THEME_NAME.match(value):
        return value
    raise _Invalid("a theme name of lower-case letters, digits, - and _")


def _file_starting_with(value: Any, signatures: tuple[bytes, ...], expected: str) -> str:
    path = _local_file(value)
    with open(path, "rb") as file:
        start = file.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(signatures):
        raise _Invalid(expected)
    return path


def _svg_file(value: Any) -> str:
    return _file_starting_with(value, (b"<svg", b"<?xml", b"<!--", b"<!DOCTYPE svg"), "a readable local SVG file")


def _icon_file(value: Any) -> str:
    return _file_starting_with(value, (b"\x00\x00\x01\x00", b"\x89PNG"), "a readable local ICO or PNG file")


def _pem_certificates(value: Any) -> str:
    # Bundles often open with comments (certifi's) or openssl's text form of each certificate.
    path = _local_file(value)
    if b"-----BEGIN CERTIFICATE-----" not in Path(path).read_bytes():
        raise _Invalid("a readable local PEM file of certificates")
    return path


def _websso_choices(value: Any) -> tuple[tuple[str, str], ...]:
    expected = 'a mapping of login choices to labels, such as {"credentials": "Keystone Credentials", "oidc": "OpenID Connect"}'
    try:
        return tuple((_word(choice), _text(label)) for choice, label in _json_mapping(value, expected).items())
    except _Invalid:
        raise _Invalid(expected) from None


def _websso_idp_mapping(value: Any) -> tuple[tuple[str, tuple[str, str]], ...]:
    expected = 'a mapping of login choices to [identity provider, protocol], such as {"acme": ["acme-idp", "saml2"]}'
    mapping = _json_mapping(value, expected)
    if not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in mapping.values()):
        raise _Invalid(expected)
    try:
        return tuple((_word(choice), (_word(idp), _word(protocol))) for choice, (idp, protocol) in mapping.items())
    except _Invalid:
        raise _Invalid(expected) from None


# The settings the deploy's templates write: an operator's extra setting may not undo them.
_SETTINGS_TEMPLATES = ("local_settings.py.j2", "horizon-settings.py.j2")
_WRITTEN = "\n".join((TEMPLATES / name).read_text() for name in _SETTINGS_TEMPLATES)
MANAGED_SETTINGS = frozenset(re.findall(r"^\s*([A-Z][A-Z0-9_]*)(?: =|\[)", _WRITTEN, re.M)) - {"HORIZON_CONFIG"}
MANAGED_HORIZON_CONFIG = frozenset(re.findall(r'^HORIZON_CONFIG\["(\w+)"\]', _WRITTEN, re.M))
_SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _extra_settings(value: Any) -> tuple[tuple[str, str], ...]:
    """(name, the value as a Python literal), sorted."""
    expected = 'a mapping of Django setting names (in capitals) to values, such as {"SESSION_REFRESH": false}'
    value = _json_mapping(value, expected)
    if not all(isinstance(name, str) and _SETTING_NAME.match(name) for name in value):
        raise _Invalid(expected)
    managed = sorted(MANAGED_SETTINGS & value.keys())
    if managed:
        raise _Invalid(f"settings the deploy does not write itself, not {', '.join(managed)} (see its keys)")
    merged = value.get("HORIZON_CONFIG", {})
    if not isinstance(merged, dict) or MANAGED_HORIZON_CONFIG & merged.keys():
        raise _Invalid("for HORIZON_CONFIG, a mapping without " + ", ".join(sorted(MANAGED_HORIZON_CONFIG)))
    return tuple(sorted((name, repr(setting)) for name, setting in value.items()))


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value in (None, "") else check(value)


def _list_of(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> tuple:
        items = tuple(check(item) for item in _as_list(value))
        if not items:
            raise _Invalid("at least one entry")
        return items

    return coerce


COERCERS: dict[str, Callable[[Any], Any]] = {
    "release": _word,
    "url": _url,
    "url_or_none": _optional(_url),
    "word_or_none": _optional(_word),
    "word": _word,
    "word_list": _list_of(_word),
    "text_list": _text_list,
    "regions": _regions,
    "themes": _themes,
    "plugins": _plugins,
    "pip_requirements": _pip_requirements,
    "websso_choices": _websso_choices,
    "websso_idp_mapping": _websso_idp_mapping,
    "theme_name": _theme_name,
    "theme_name_or_none": _optional(_theme_name),
    "theme_names": lambda value: tuple(_theme_name(item) for item in _as_list(value)),
    "svg_file_or_none": _optional(_svg_file),
    "icon_file_or_none": _optional(_icon_file),
    "pem_certificates_or_none": _optional(_pem_certificates),
    "extra_settings": _extra_settings,
    "local_file_or_none": _optional(_local_file),
    "version": _version,
    "positive_int": _positive_int,
    "positive_int_or_none": _optional(_positive_int),
    "hostname_or_none": _optional(_hostname),
    "hostname_list_or_none": _optional(_list_of(_allowed_host)),
    "webroot": _webroot,
    "host_port_list_or_none": _optional(_list_of(_host_port)),
    "listen_address_or_none": _optional(_listen_address),
    "secret_or_none": _optional(_secret),
    "password_or_none": _optional(_password),
    "time_zone": _time_zone,
    "port": _port,
    "password_regex": _password_regex,
    "bool": _bool,
    "network_list_or_none": _optional(_list_of(_network)),
    "text": _text,
    "size": _size,
    "nginx_directives": _nginx_directives,
    "api_timeout": _api_timeout,
    "policy_overrides": _policy_overrides,
}


# Values that may hold secrets are not repeated in messages.
_HIDDEN_KINDS = ("secret_or_none", "password_or_none", "extra_settings")


def _shown(setting: Setting, value: Any) -> str:
    return "(value hidden)" if setting.kind in _HIDDEN_KINDS else repr(value)


def _coerce(setting: Setting, value: Any) -> Any:
    if setting.kind == "choice":
        if value in setting.choices:
            return value
        raise _Invalid("one of " + ", ".join(setting.choices))
    return COERCERS[setting.kind](value)


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
    raise _Invalid(f"`auto` or {expected}")


def _fleet_problems(values: dict[str, Any], fleet: Sequence[Node], this: Node) -> list[str]:
    """What several hosts serving one dashboard must share, and this host's data lacks."""
    if len(fleet) < 2:
        return []
    hosts = f"{len(fleet)} hosts serve this dashboard ({', '.join(node.name for node in fleet)})"
    problems = []
    if not values.get("horizon_secret_key"):
        problems.append(f"horizon_secret_key is not set, but {hosts}: they must share one secret key, "
                        "or a session signed by one is refused by the others")
    if not values.get("horizon_server_name"):
        problems.append(f"horizon_server_name is not set, but {hosts}: they must answer to one name, "
                        "the one users (and the load balancer) reach the dashboard by")
    listen = this.memcached_listen(len(fleet))
    if not values.get("horizon_memcached_servers") and (listen.startswith("127.") or listen in ("localhost", "::1")):
        problems.append(f"horizon_memcached_listen = {listen!r}: expected an address the other dashboard "
                        f"hosts reach, because {hosts} and they share their memcached")
    return problems


def _tls_problems(values: dict[str, Any]) -> list[str]:
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


def _theme_problems(values: dict[str, Any], platform: Platform) -> list[str]:
    if "horizon_themes" not in values:
        return []
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


def _websso_problems(values: dict[str, Any]) -> list[str]:
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


def _disk_problems(facts: HostFacts) -> list[str]:
    needed = {**FREE_SPACE_ALWAYS, **(FREE_SPACE_FOR_PACKAGES if facts.packages_missing else {})}
    return [
        f"{path}: only {facts.free_space[path]} MiB free on its file system, the deploy needs {mib} MiB there"
        for path, mib in needed.items()
        if path in facts.free_space and facts.free_space[path] < mib
    ]


def resolve(data: dict[str, Any], facts: HostFacts, fleet: Sequence[Node] = ()) -> HorizonConfig:
    """Turn raw host data into a checked ``HorizonConfig``; raise ``ConfigError`` listing every problem.

    ``fleet`` is every host that serves the dashboard, this one included (none: this one alone).
    """
    platform = _platform(facts)
    problems = _unknown_keys(data)
    values = _coerce_all(data, problems)

    repository_keys = ("horizon_apt_repository_url", "horizon_apt_repository_suite", "horizon_apt_repository_key")
    given = [key for key in repository_keys if values.get(key)]
    if given and len(given) < len(repository_keys):
        missing = ", ".join(key for key in repository_keys if key not in given)
        problems.append(f"{given[0]} is set but {missing} is not: an extra repository needs a URL, a suite and a signing key")

    if "horizon_openstack_release" in values:
        try:
            values["horizon_openstack_release"] = _release(
                platform, values["horizon_openstack_release"], has_repository=bool(given)
            )
        except _Invalid as expected:
            problems.append(f"horizon_openstack_release = {data.get('horizon_openstack_release')!r}: expected {expected}")

    this = Node(facts.name, data)
    fleet = tuple(fleet) or (this,)
    problems += _fleet_problems(values, fleet, this)
    problems += _tls_problems(values)
    if values.get("horizon_keystone_domain_choices") and values.get("horizon_keystone_multidomain") is False:
        problems.append("horizon_keystone_domain_choices is set but horizon_keystone_multidomain is false: the "
                        "login page asks for a domain only with multidomain support")
    problems += _theme_problems(values, platform)
    if values.get("horizon_session_engine") in ("db", "cached_db"):
        needed = [key for key in ("horizon_database_host", "horizon_database_password") if not values.get(key)]
        if needed:
            problems.append(f"horizon_session_engine is {values['horizon_session_engine']} but {' and '.join(needed)} "
                            "not set: sessions in a database need its server and password")
    if values.get("horizon_pip_plugins") and values.get("horizon_uwsgi_source") != "pip":
        problems.append("horizon_pip_plugins is set but horizon_uwsgi_source is not pip: plugins from PyPI go into "
                        "uWSGI's virtualenv, which only a uWSGI from PyPI has")
    problems += _websso_problems(values)
    problems += _disk_problems(facts)

    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))

    server_name = values["horizon_server_name"] or facts.fqdn
    derived = dict(
        platform=platform,
        apt_repository=AptRepository(
            url=values["horizon_apt_repository_url"],
            suite=values["horizon_apt_repository_suite"],
            components=values["horizon_apt_repository_components"],
            key_file=values["horizon_apt_repository_key"],
        )
        if given
        else None,
        uwsgi_processes=values["horizon_uwsgi_processes"] or max(2, facts.cpus),
        server_name=server_name,
        allowed_hosts=values["horizon_allowed_hosts"] or (server_name,),
        memcached_servers=values["horizon_memcached_servers"]
        or tuple(f"{node.memcached_listen(len(fleet))}:{MEMCACHED_PORT}" for node in fleet),
        memcached_listen=this.memcached_listen(len(fleet)),
        node_address=this.address,
        trusted_proxies=values["horizon_trusted_proxies"] or (),
        # The distribution's own default: the first of its themes.
        default_theme=values["horizon_default_theme"] or platform.themes[0][0],
    )
    # Every other field is its key's value as given or defaulted, named without the prefix
    # (horizon_webroot fills webroot).
    fields = {field.name for field in dataclasses.fields(HorizonConfig)} - derived.keys()
    given_as_is = {key.removeprefix("horizon_"): value for key, value in values.items() if key.removeprefix("horizon_") in fields}
    return HorizonConfig(**given_as_is, **derived)


def _coerce_all(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Every setting coerced from ``data`` or its default; what cannot be is added to ``problems``."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = data.get(setting.name, setting.default)
        try:
            values[setting.name] = _coerce(setting, raw)
        except _Invalid as expected:
            problems.append(f"{setting.name} = {_shown(setting, raw)}: expected {expected}")
    return values


def resolve_load_balancer(data: dict[str, Any], fleet: Sequence[Node]) -> LoadBalancerConfig:
    """The load balancer's view: its own port and the dashboard's name, and every dashboard host."""
    problems = _unknown_keys(data)
    values = _coerce_all(data, problems)
    if not fleet:
        problems.append(f"no host in the `{DASHBOARD_GROUP}` group: the load balancer has nothing to balance")
    if not values.get("horizon_server_name"):
        problems.append("horizon_server_name is not set: the health check asks every dashboard host for its "
                        "login page under that name")
    backends = []
    port_key = "horizon_https_port" if values["horizon_tls"] else "horizon_http_port"
    for node in fleet:
        port = node.data.get(port_key, DEFAULTS[port_key])
        try:
            backends.append(Backend(re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-"), node.address, _port(port)))
        except _Invalid as expected:
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
    )


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
    from pyinfra.facts.deb import DebPackages
    from pyinfra.facts.hardware import Cpus
    from pyinfra.facts.server import Command, OsRelease

    from .platforms import BASE_PACKAGES

    os_release = host.get_fact(OsRelease)
    installed = host.get_fact(DebPackages) or {}
    facts = HostFacts(
        os_id=os_release.get("id", ""),
        os_version=os_release.get("version_id", ""),
        fqdn=host.get_fact(Command, "hostname -f 2>/dev/null || uname -n").strip(),
        cpus=host.get_fact(Cpus) or 1,
        name=host.name,
        free_space=_free_space(host, [*FREE_SPACE_FOR_PACKAGES, *FREE_SPACE_ALWAYS]),
        packages_missing=any(package not in installed for package in BASE_PACKAGES),
    )
    try:
        return resolve(host.data.dict(), facts, dashboard_fleet(host.inventory))
    except ConfigError as error:
        raise ConfigError(f"{host.name}: {error}") from None


def _free_space(host, paths: Sequence[str]) -> dict[str, int]:
    """MiB available for each path, measured on its closest existing directory."""
    from pyinfra.facts.server import Command

    script = "; ".join(
        f'd={path}; while [ ! -e "$d" ]; do d=$(dirname "$d"); done; echo "{path} $(df -Pm "$d" | tail -n 1 | awk \'{{print $4}}\')"'
        for path in paths
    )
    output = host.get_fact(Command, script) or ""
    return {path: int(mib) for path, mib in (line.split() for line in output.splitlines()) if mib.isdigit()}
