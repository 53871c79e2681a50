"""What a configuration value may be: one checker per kind of value, each taking the raw value
(from inventory data, group data or ``--data`` text) and returning it coerced, or raising
``Invalid`` with what was expected. Pure: no host, no pyinfra."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tarfile
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..layout import POLICY_SERVICES, REQUEST_TIME_LIMIT
from ..platforms import DASHBOARD_PLUGINS, UPSTREAM_THEMES
from .model import Theme

# What makes a directory a Horizon theme: Horizon compiles both into the theme's stylesheet.
THEME_FILES = ("_variables.scss", "_styles.scss")
# The themes upstream Horizon ships; a distribution may add its own (``Platform.themes``).
BUILTIN_THEME_NAMES = tuple(name for name, _, _ in UPSTREAM_THEMES)


class Invalid(ValueError):
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
    raise Invalid("a list, or a comma-separated string")


def _as_int(value: Any, expected: str) -> int:
    if isinstance(value, bool):
        raise Invalid(expected)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise Invalid(expected)


def positive_int(value: Any) -> int:
    number = _as_int(value, "a whole number of at least 1")
    if number < 1:
        raise Invalid("a whole number of at least 1")
    return number


def _as_int_between(value: Any, low: int, high: int, expected: str) -> int:
    number = _as_int(value, expected)
    if not low <= number <= high:
        raise Invalid(expected)
    return number


def drain_seconds(value: Any) -> int:
    return _as_int_between(value, 0, 300, "a whole number of seconds from 0 to 300")


def port(value: Any) -> int:
    return _as_int_between(value, 1, 65535, "a TCP port, a whole number from 1 to 65535")


def url(value: Any) -> str:
    expected = "an http:// or https:// URL with a host name"
    if not isinstance(value, str):
        raise Invalid(expected)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as error:
        raise Invalid(f"{expected} ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise Invalid(expected)
    return value.rstrip("/")


def hostname(value: Any) -> str:
    if isinstance(value, str) and (_HOSTNAME.match(value) or _IPV6.match(value)):
        return value
    raise Invalid("a DNS host name or an IP address")


def allowed_host(value: Any) -> str:
    if value == "*":
        raise Invalid("explicit host names: a wildcard `*` lets any Host header through")
    if isinstance(value, str) and value.startswith("."):
        return "." + hostname(value[1:])
    return hostname(value)


def listen_address(value: Any) -> str:
    if value in ("0.0.0.0", "::", "[::]", "*"):
        raise Invalid("one address of this host, not a wildcard: memcached has no authentication")
    return hostname(value)


def ip_address(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except (TypeError, ValueError):
        raise Invalid("an IP address of this host, such as 10.0.0.5") from None


def host_port(value: Any) -> str:
    if isinstance(value, str) and ":" in value:
        host, _, number = value.rpartition(":")
        hostname(host)
        port(number)
        return value
    raise Invalid("`host:port` entries such as 127.0.0.1:11211")


def word(value: Any) -> str:
    if isinstance(value, str) and _WORD.match(value):
        return value
    raise Invalid("a single word of letters, digits and . _ / + -")


def version(value: Any) -> str:
    if isinstance(value, str) and _VERSION.match(value):
        return value
    raise Invalid("a release number such as 2.0.31")


def webroot(value: Any) -> str:
    if isinstance(value, str) and _WEBROOT.match(value):
        return value
    raise Invalid("a URL path that starts and ends with `/`, such as `/` or `/dashboard/`")


def size(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _SIZE.match(value):
        return value
    raise Invalid("a size in NGINX's units: bytes, or a number followed by k, m or g, such as 1m")


def size_bytes(value: str) -> int:
    """Bytes in a size ``size`` accepted."""
    unit = value[-1].lower()
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(value[:-1]) * scale[unit] if unit in scale else int(value)


def nginx_directives(value: Any) -> tuple[str, ...]:
    expected = "NGINX directives, one per entry, each on one line and ending with `;`"
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)):
        raise Invalid(expected)
    for entry in entries:
        if not isinstance(entry, str) or "\n" in entry or not entry.strip().endswith(";"):
            raise Invalid(expected)
    return tuple(entry.strip() for entry in entries)


def api_timeout(value: Any) -> int:
    return _as_int_between(
        value, 1, REQUEST_TIME_LIMIT - 10, f"a whole number of seconds from 1 to {REQUEST_TIME_LIMIT - 10}, "
        f"below the {REQUEST_TIME_LIMIT} s a request may take"
    )


def upload_timeout(value: Any) -> int:
    return _as_int_between(value, 1, 86400, "a whole number of seconds from 1 to 86400 (a day)")


def slow_request_seconds(value: Any) -> int:
    return _as_int_between(
        value, 0, REQUEST_TIME_LIMIT, f"a whole number of seconds from 0 (none logged) to {REQUEST_TIME_LIMIT}, the time a request may take"
    )


# What of Python's logging configuration an operator may add to Horizon's: named entries of each
# kind, and the root logger.
LOGGING_SECTIONS = ("formatters", "filters", "handlers", "loggers")


def logging_config(value: Any) -> str | None:
    """The mapping as a Python literal, for the settings drop-in to merge into ``LOGGING``; None
    when empty."""
    expected = (
        "a mapping of " + ", ".join(LOGGING_SECTIONS) + " (each a mapping of names to mappings) and root (a mapping), "
        'such as {"handlers": {"syslog": {"class": "logging.handlers.SysLogHandler", "address": "/dev/log"}}}'
    )
    value = _json_mapping(value, expected)
    for section, entries in value.items():
        if section == "root":
            named = {"root": entries}
        elif section in LOGGING_SECTIONS and isinstance(entries, dict):
            named = entries
        else:
            raise Invalid(expected)
        if not all(isinstance(name, str) and isinstance(entry, dict) for name, entry in named.items()):
            raise Invalid(expected)
    return repr(value) if value else None


def _json_mapping(value: Any, expected: str) -> dict:
    """A mapping, given as one or (on the command line) as JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise Invalid(expected + " (given as text: JSON)") from None
    if not isinstance(value, dict):
        raise Invalid(expected)
    return value


def policy_overrides(value: Any) -> tuple:
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
        raise Invalid(expected)
    return tuple(sorted((service, tuple(sorted(rules.items()))) for service, rules in value.items() if rules))


def local_file(value: Any) -> str:
    if isinstance(value, str) and Path(value).is_file() and os.access(value, os.R_OK):
        return value
    raise Invalid("the path of a readable file on the machine running pyinfra")


def secret(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 32 and not any(c.isspace() for c in value):
        return value
    raise Invalid("at least 32 characters without spaces")


def password(value: Any) -> str:
    if isinstance(value, str) and value and not any(c in value for c in "\r\n\0"):
        return value
    raise Invalid("a non-empty password on one line")


def time_zone(value: Any) -> str:
    if isinstance(value, str) and value in zoneinfo.available_timezones():
        return value
    raise Invalid("an IANA time zone name such as UTC or Europe/Paris")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise Invalid("true or false")


def network(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except (TypeError, ValueError):
        raise Invalid("IP addresses or CIDR ranges such as 10.0.0.5 or 10.0.0.0/24") from None


def password_regex(value: Any) -> str:
    expected = "a regular expression that refuses an empty password, such as ^.{12,}$"
    try:
        accepts_empty = re.fullmatch(value, "") is not None if isinstance(value, str) else True
    except re.error as error:
        raise Invalid(f"{expected} ({error})") from None
    if accepts_empty:
        raise Invalid(expected)
    return value


def text(value: Any) -> str:
    if isinstance(value, str) and value.strip() and "\n" not in value:
        return value
    raise Invalid("one line of text")


def text_list(value: Any) -> tuple[str, ...]:
    return tuple(text(item) for item in _as_list(value))


def regions(value: Any) -> tuple[tuple[str, str], ...]:
    expected = 'a mapping of region names to Keystone v3 URLs, such as {"east": "https://keystone.east:5000/v3"}'
    value = _json_mapping(value, expected)
    try:
        return tuple((text(name), url(address)) for name, address in value.items())
    except Invalid:
        raise Invalid(expected) from None


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
    raise Invalid("a directory or a tar archive")


def themes(value: Any) -> tuple[Theme, ...]:
    expected = (
        'a mapping of theme names to local directories or tar archives, such as {"acme": "themes/acme"}, '
        'or to {"label": ..., "source": ...}'
    )
    found = []
    for name, entry in _json_mapping(value, expected).items():
        if isinstance(entry, str):
            entry = {"source": entry}
        source, label = (entry.get("source"), entry.get("label", name)) if isinstance(entry, dict) else (None, None)
        if not isinstance(source, str) or not isinstance(label, str):
            raise Invalid(expected)
        if theme_name(name) in BUILTIN_THEME_NAMES:
            raise Invalid(f"names other than Horizon's own themes ({name} is one)")
        try:
            root = theme_root(_theme_paths(source))
        except (Invalid, OSError, tarfile.TarError) as error:
            raise Invalid(f"{expected}; {source} is not readable as a directory or tar archive ({error})") from None
        if root is None:
            raise Invalid(f"a theme's {' and '.join(THEME_FILES)} in {source}, at its top, in static/ or in one top-level directory")
        found.append(Theme(name, text(label), str(Path(source).resolve()), root))
    return tuple(found)


def plugins(value: Any) -> tuple[str, ...]:
    unknown = [name for name in _as_list(value) if name not in DASHBOARD_PLUGINS]
    if unknown:
        raise Invalid(f"plugins among {', '.join(DASHBOARD_PLUGINS)}, not {', '.join(map(str, unknown))}")
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
        raise Invalid("pip requirements pinned to one version with ==, such as heat-dashboard==8.0.0")
    return requirement


def pip_requirements(value: Any) -> tuple[tuple[str, str], ...]:
    """(name as pip normalises it, version), by name."""
    requirements = [_pip_requirement(item) for item in _as_list(value)]
    return tuple(sorted((canonicalize_name(r.name), next(iter(r.specifier)).version) for r in requirements))


def theme_name(value: Any) -> str:
    if isinstance(value, str) and _THEME_NAME.match(value):
        return value
    raise Invalid("a theme name of lower-case letters, digits, - and _")


def theme_names(value: Any) -> tuple[str, ...]:
    return tuple(theme_name(item) for item in _as_list(value))


def _file_starting_with(value: Any, signatures: tuple[bytes, ...], expected: str) -> str:
    path = local_file(value)
    with open(path, "rb") as file:
        start = file.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start.startswith(signatures):
        raise Invalid(expected)
    return path


def svg_file(value: Any) -> str:
    return _file_starting_with(value, (b"<svg", b"<?xml", b"<!--", b"<!DOCTYPE svg"), "a readable local SVG file")


def icon_file(value: Any) -> str:
    return _file_starting_with(value, (b"\x00\x00\x01\x00", b"\x89PNG"), "a readable local ICO or PNG file")


def pem_certificates(value: Any) -> str:
    # Bundles often open with comments (certifi's) or openssl's text form of each certificate.
    path = local_file(value)
    if b"-----BEGIN CERTIFICATE-----" not in Path(path).read_bytes():
        raise Invalid("a readable local PEM file of certificates")
    return path


def websso_choices(value: Any) -> tuple[tuple[str, str], ...]:
    expected = 'a mapping of login choices to labels, such as {"credentials": "Keystone Credentials", "oidc": "OpenID Connect"}'
    try:
        return tuple((word(choice), text(label)) for choice, label in _json_mapping(value, expected).items())
    except Invalid:
        raise Invalid(expected) from None


def websso_idp_mapping(value: Any) -> tuple[tuple[str, tuple[str, str]], ...]:
    expected = 'a mapping of login choices to [identity provider, protocol], such as {"acme": ["acme-idp", "saml2"]}'
    mapping = _json_mapping(value, expected)
    if not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in mapping.values()):
        raise Invalid(expected)
    try:
        return tuple((word(choice), (word(idp), word(protocol))) for choice, (idp, protocol) in mapping.items())
    except Invalid:
        raise Invalid(expected) from None


# The settings the deploy's templates write: an operator's extra setting may not undo them.
# The settings the deploy writes itself (templates/local_settings.py.j2 and horizon-settings.py.j2;
# a unit test reads the templates and holds the two in step): horizon_extra_settings may not set them.
MANAGED_SETTINGS = frozenset(
    (
        "ALLOWED_HOSTS", "AVAILABLE_REGIONS", "AVAILABLE_THEMES", "CACHES", "COMPRESS_ENABLED",
        "COMPRESS_OFFLINE", "CSRF_COOKIE_SECURE", "DATABASES", "DEBUG", "DEFAULT_THEME",
        "DISALLOW_IFRAME_EMBED", "ENFORCE_PASSWORD_CHECK", "HORIZON_DEPLOY_HEALTH_CHECK",
        "HORIZON_DEPLOY_REQUEST_TIME_LIMITS", "HORIZON_DEPLOY_SETTINGS", "HORIZON_IMAGES_UPLOAD_MODE",
        "LOGGING", "LOGIN_ERROR", "LOGIN_REDIRECT_URL", "LOGIN_URL", "LOGOUT_URL", "MIDDLEWARE",
        "OPENSTACK_API_VERSIONS", "OPENSTACK_ENDPOINT_TYPE", "OPENSTACK_KEYSTONE_DEFAULT_DOMAIN",
        "OPENSTACK_KEYSTONE_DEFAULT_ROLE", "OPENSTACK_KEYSTONE_DOMAIN_CHOICES",
        "OPENSTACK_KEYSTONE_DOMAIN_DROPDOWN", "OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT",
        "OPENSTACK_KEYSTONE_URL", "OPENSTACK_SSL_CACERT", "OPENSTACK_SSL_NO_VERIFY", "OPERATION_LOG_ENABLED", "POLICY_DIRS",
        "SECRET_KEY", "SECURE_PROXY_SSL_HEADER", "SELECTABLE_THEMES", "SESSION_CACHE_ALIAS", "SESSION_COOKIE_AGE",
        "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SECURE", "SESSION_ENGINE", "SESSION_TIMEOUT",
        "SITE_BRANDING", "SITE_BRANDING_LINK", "STATIC_ROOT", "STATIC_URL", "TIME_ZONE", "WEBROOT",
        "WEBSSO_CHOICES", "WEBSSO_ENABLED", "WEBSSO_IDP_MAPPING", "WEBSSO_INITIAL_CHOICE",
        "WEBSSO_KEYSTONE_URL", "WEBSSO_USE_HTTP_REFERER",
    )
)
# The HORIZON_CONFIG entries the deploy writes itself.
MANAGED_HORIZON_CONFIG = frozenset(
    (
        "customization_module", "disable_password_reveal", "help_url", "password_autocomplete",
        "password_validator", "user_home",
    )
)
_SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def extra_settings(value: Any) -> tuple[tuple[str, str], ...]:
    """(name, the value as a Python literal), sorted."""
    expected = 'a mapping of Django setting names (in capitals) to values, such as {"SESSION_REFRESH": false}'
    value = _json_mapping(value, expected)
    if not all(isinstance(name, str) and _SETTING_NAME.match(name) for name in value):
        raise Invalid(expected)
    managed = sorted(MANAGED_SETTINGS & value.keys())
    if managed:
        raise Invalid(f"settings the deploy does not write itself, not {', '.join(managed)} (see its keys)")
    merged = value.get("HORIZON_CONFIG", {})
    if not isinstance(merged, dict) or MANAGED_HORIZON_CONFIG & merged.keys():
        raise Invalid("for HORIZON_CONFIG, a mapping without " + ", ".join(sorted(MANAGED_HORIZON_CONFIG)))
    return tuple(sorted((name, repr(setting)) for name, setting in value.items()))


def optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value in (None, "") else check(value)


def list_of(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> tuple:
        items = tuple(check(item) for item in _as_list(value))
        if not items:
            raise Invalid("at least one entry")
        return items

    return coerce


def one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in choices:
            return value
        raise Invalid("one of " + ", ".join(choices))

    return check
