"""What a checked configuration is: the host's facts it was checked against, the dashboard's
other hosts, and the values the deploys are given (``HorizonConfig``, ``LoadBalancerConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyinfra.api.exceptions import PyinfraError

from ..layout import (
    DASHBOARD_DIR,
    HEALTH_CHECK,
    HORIZON_USER,
    IMAGE_UPLOAD_URL,
    MANAGE_PY,
    MEMCACHED_PORT,
    MEMCACHED_REPLICA_PORT,
    MEMCACHED_REPLICA_SERVICE,
    OBJECT_UPLOAD_URL,
    SETTINGS_DROPIN_NAME,
    SYSTEM_PYTHON,
    UWSGI_VENV_PYTHON,
)
from ..platforms import Platform


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
    # The mount point of the file system of each of those paths.
    mounts: dict[str, str] = field(default_factory=dict)
    packages_missing: bool = False


# Inventory groups: the hosts that serve the dashboard, and the optional load balancers in front
# of them. Without a `horizon` group, every host that is not a load balancer serves it.
DASHBOARD_GROUP = "horizon"
LOAD_BALANCER_GROUP = "horizon_loadbalancers"
LOOPBACK = "127.0.0.1"


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
    slow_request_seconds: int
    keystone_url: str
    server_name: str
    allowed_hosts: tuple[str, ...]
    webroot: str
    memcached_servers: tuple[str, ...]
    memcached_replica: bool
    memcached_listen: str
    memcached_memory: int
    # Never part of repr(): configs end up in logs and tracebacks.
    secret_key: str | None = field(repr=False)
    time_zone: str
    session_timeout: int
    http_port: int
    static_max_age: int
    node_address: str
    drain_seconds: int
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
    images_upload_mode: str
    upload_timeout: int
    access_log_format: str
    metrics_listen: str | None
    nginx_extra_directives: tuple[str, ...]
    api_timeout: int
    log_level: str
    operation_log: bool
    # The operator's logging configuration, a Python literal; None when not given.
    logging: str | None
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
    def memcached_instances(self) -> dict[str, str]:
        """This host's memcached services, each with the ``host:port`` Horizon reaches it by."""
        ports = {"memcached": MEMCACHED_PORT, MEMCACHED_REPLICA_SERVICE: MEMCACHED_REPLICA_PORT}
        if not self.memcached_replica:
            del ports[MEMCACHED_REPLICA_SERVICE]
        return {service: f"{self.memcached_listen}:{port}" for service, port in ports.items()}

    @property
    def uploads_images(self) -> bool:
        """Whether image files pass through the dashboard (the legacy upload mode), for Horizon to
        stream to Glance after it has answered."""
        return self.images_upload_mode == "legacy"

    @property
    def upload_urls(self) -> str:
        """The URLs whose requests carry uploads, a regular expression under WEBROOT (see layout)."""
        return "|".join([IMAGE_UPLOAD_URL, OBJECT_UPLOAD_URL] if self.uploads_images else [OBJECT_UPLOAD_URL])

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
    # Where HAProxy's own Prometheus endpoint listens; None: nowhere.
    metrics_listen: str | None
