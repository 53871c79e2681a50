"""What differs between the supported distributions, as data.

Everything distribution-specific that the deploys need lives here, so that the operations read
the same on every platform and adding a platform is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import DEBIAN_SETTINGS_DROPIN_DIR, DEBIAN_WSGI_FILE, MANAGE_PY, UBUNTU_SETTINGS_DROPIN_DIR

CLOUD_ARCHIVE_URL = "http://ubuntu-cloud.archive.canonical.com/ubuntu"
# The Cloud Archive's signing key comes from Ubuntu's own package (layout.CLOUD_ARCHIVE_KEYRING).
CLOUD_ARCHIVE_KEYRING_PACKAGE = "ubuntu-cloud-keyring"

# Horizon's own themes (openstack_dashboard/defaults.py): (name, label, directory).
UPSTREAM_THEMES = (("default", "Default", "themes/default"), ("material", "Material", "themes/material"))
# Ubuntu's ubuntu_settings.patch puts its theme first and makes it DEFAULT_THEME.
UBUNTU_THEMES = (("ubuntu", "Ubuntu", "themes/ubuntu"), *UPSTREAM_THEMES)


@dataclass(frozen=True)
class Platform:
    name: str
    codename: str
    # The OpenStack release whose Horizon the distribution itself ships.
    openstack_release: str
    # Ubuntu Cloud Archive releases published for this version, oldest first.
    cloud_archive: tuple[str, ...] = ()
    # Debian's package ships the WSGI entry point as a file and no openstack_dashboard.wsgi
    # module; Ubuntu's keeps upstream's module (None: use it).
    wsgi_file: str | None = None
    # The dashboard package's postinst builds the static files itself (with django-compressor's
    # thread pool: the race described in horizon.py) only while this file is executable; kept
    # 0644 with dpkg-statoverride, the build is left to this deploy. None: no way to skip it.
    postinst_static_build_guard: str | None = None
    # Where Horizon reads settings drop-ins. Upstream reads local/local_settings.d inside its
    # package; Debian links that to /etc, Ubuntu links only local_settings.py (debian/rules).
    settings_dropin_dir: str = DEBIAN_SETTINGS_DROPIN_DIR
    # Horizon's own themes as the distribution patches them, the distribution's default first.
    themes: tuple[tuple[str, str, str], ...] = UPSTREAM_THEMES
    # Installed with the dashboard though never started: Ubuntu's openstack-dashboard Depends on
    # `apache2 | httpd`, which NGINX satisfies, and its postinst calls apache2_invoke, which only
    # the apache2 package provides (unguarded), so without it the install fails.
    packages: tuple[str, ...] = ()
    # NGINX 1.25.1 and later turn HTTP/2 on with `http2 on;` (the listen parameter is deprecated
    # there); before it, with `listen ... ssl http2`.
    nginx_http2_directive: bool = False
    # NGINX's module that sends a file's Brotli twin (foo.css.br) to browsers that accept it, and
    # the command that makes the twins: empty where the distribution ships no such module.
    brotli_packages: tuple[str, ...] = ()

    def known_releases(self) -> tuple[str, ...]:
        return (self.openstack_release, *self.cloud_archive)

    def default_release(self) -> str:
        return self.cloud_archive[-1] if self.cloud_archive else self.openstack_release

    def needs_cloud_archive(self, release: str) -> bool:
        return release in self.cloud_archive


# Debian's packaging: its WSGI file, its postinst's build, its NGINX Brotli module (1.0.0~rc in
# Debian 12 and 13, built against each one's NGINX).
DEBIAN = {
    "wsgi_file": DEBIAN_WSGI_FILE,
    "postinst_static_build_guard": MANAGE_PY,
    "brotli_packages": ("libnginx-mod-http-brotli-static", "brotli"),
}

# What Ubuntu's packaging does differently (its debian/ directory, imported at 3:16.1.0 in
# NeCTAR-RC/horizon debian/train; the Ubuntu charm, openstack/charm-openstack-dashboard).
# No Brotli twins there: Ubuntu's archive, unreachable from the lab, is not known to carry
# Debian's module for each release's NGINX, so those hosts get the gzip twins alone.
UBUNTU = {"settings_dropin_dir": UBUNTU_SETTINGS_DROPIN_DIR, "themes": UBUNTU_THEMES, "packages": ("apache2",)}

# Keyed by os-release's (ID, VERSION_ID).
PLATFORMS: dict[tuple[str, str], Platform] = {
    ("debian", "12"): Platform("Debian 12", "bookworm", "zed", **DEBIAN),
    ("debian", "13"): Platform("Debian 13", "trixie", "epoxy", nginx_http2_directive=True, **DEBIAN),
    ("ubuntu", "22.04"): Platform(
        "Ubuntu 22.04", "jammy", "yoga", cloud_archive=("zed", "antelope", "bobcat", "caracal"), **UBUNTU
    ),
    ("ubuntu", "24.04"): Platform(
        "Ubuntu 24.04", "noble", "caracal", cloud_archive=("dalmatian", "epoxy", "flamingo", "gazpacho"), **UBUNTU
    ),
}

BASE_PACKAGES = (
    "nginx",
    "memcached",
    "openstack-dashboard",
    # Django's PyMemcacheCache backend; Horizon's package does not pull it in.
    "python3-pymemcache",
    # Makes the self-signed certificate when the operator gives none.
    "openssl",
    # Runs NGINX's /etc/logrotate.d/nginx (daily, 14 kept): only recommended by the packages,
    # which are installed without recommendations, so the logs would otherwise grow forever.
    "logrotate",
)
# Django's MySQL and MariaDB driver, for sessions in a database (horizon_session_engine).
SESSION_DATABASE_PACKAGES = ("python3-mysqldb",)
UWSGI_PACKAGES = {
    # What `pip install uwsgi` needs to compile it: a C compiler, libc and Python headers, venv.
    "pip": ("gcc", "libc6-dev", "python3-dev", "python3-venv"),
    # uwsgi-core is the bare server: the `uwsgi` package would add Debian's own service.
    "distro": ("uwsgi-core", "uwsgi-plugin-python3"),
}
# Horizon's plugins as Debian and Ubuntu package them (`horizon_plugins`), by the name of the
# service they give a dashboard to. Each package registers its panels in Horizon's
# local/enabled/ and may add a settings drop-in (a conffile, hence purged on removal).
DASHBOARD_PLUGINS = {
    "blazar": "python3-blazar-dashboard",
    "cloudkitty": "python3-cloudkitty-dashboard",
    "designate": "python3-designate-dashboard",
    "heat": "python3-heat-dashboard",
    "ironic": "python3-ironic-ui",
    "magnum": "python3-magnum-ui",
    "manila": "python3-manila-ui",
    "masakari": "python3-masakari-dashboard",
    "mistral": "python3-mistral-dashboard",
    "neutron-vpnaas": "python3-neutron-vpnaas-dashboard",
    "octavia": "python3-octavia-dashboard",
    "senlin": "python3-senlin-dashboard",
    "trove": "python3-trove-dashboard",
    "vitrage": "python3-vitrage-dashboard",
    "watcher": "python3-watcher-dashboard",
    "zaqar": "python3-zaqar-ui",
}
