"""The host's layout: every path, user and port the deploy uses, named once.

Operations import these names; templates get them all as ``layout`` (``{{ layout.uwsgi_socket }}``,
the same names in lower case), so that no template names a path, a user or a port itself.
What differs between distributions is in ``platforms.py``; the paths here are the same on every
supported one.
"""

from __future__ import annotations

from types import MappingProxyType

# Where the distributions' openstack-dashboard puts things (the same on Debian and Ubuntu).
SETTINGS_DIR = "/etc/openstack-dashboard"
DEBIAN_SETTINGS_DROPIN_DIR = f"{SETTINGS_DIR}/local_settings.d"
PACKAGE_DIR = "/usr/lib/python3/dist-packages/openstack_dashboard"
UBUNTU_SETTINGS_DROPIN_DIR = f"{PACKAGE_DIR}/local/local_settings.d"
DASHBOARD_DIR = "/usr/share/openstack-dashboard"
MANAGE_PY = f"{DASHBOARD_DIR}/manage.py"
DEBIAN_WSGI_FILE = f"{DASHBOARD_DIR}/wsgi.py"
STATIC_ROOT = "/var/lib/openstack-dashboard/static"
# Plugins' panel registrations. Horizon's settings import it, yet no package owns it: a plugin
# package that ships it takes it along when purged, and Horizon no longer starts.
LOCAL_ENABLED_DIR = f"{PACKAGE_DIR}/local/enabled"
# dpkg's file lists, which dpkg rewrites when it installs or upgrades a package: newer than a
# stamp of the deploy, the package changed since.
DPKG_INFO = "/var/lib/dpkg/info"
DASHBOARD_PACKAGE_LISTS = (f"{DPKG_INFO}/openstack-dashboard.list", f"{DPKG_INFO}/python3-django-horizon.list")
MEMCACHED_PACKAGE_LIST = f"{DPKG_INFO}/memcached.list"
# The Cloud Archive's signing key comes from Ubuntu's own package rather than a download, so
# the trust root is whatever the host already trusts for Ubuntu itself.
CLOUD_ARCHIVE_KEYRING = "/usr/share/keyrings/ubuntu-cloud-keyring.gpg"
# Where apt's documentation puts the keys of sources added by hand (sources.list(5)).
APT_KEYRINGS = "/etc/apt/keyrings"
# A unit linked here to /dev/null is masked: nothing can start it.
SYSTEMD_UNITS = "/etc/systemd/system"

# Who runs what. The dashboard package creates this system user and group; uWSGI runs as it.
HORIZON_USER = "horizon"
# NGINX's workers run as this user on Debian and Ubuntu; only it may connect to the socket.
NGINX_USER = "www-data"
# memcached's package creates it; its daemon drops to it.
MEMCACHED_USER = "memcache"

# uWSGI from PyPI, and the dashboard plugins from PyPI, live in this virtualenv. It sees the
# system's site packages: Horizon and Django stay the distribution's.
UWSGI_VENV = "/opt/horizon-uwsgi"
UWSGI_VENV_PYTHON = f"{UWSGI_VENV}/bin/python3"
UWSGI_VENV_PIP = f"{UWSGI_VENV}/bin/pip"
UWSGI_BINARIES = {"pip": f"{UWSGI_VENV}/bin/uwsgi", "distro": "/usr/bin/uwsgi-core"}
# Horizon's Python when uWSGI is the distribution's.
SYSTEM_PYTHON = "/usr/bin/python3"
UWSGI_INI = "/etc/uwsgi/horizon.ini"
HORIZON_UNIT = f"{SYSTEMD_UNITS}/horizon.service"
# systemd, not uWSGI, listens on the socket NGINX hands requests to, and hands it to each uWSGI
# it starts: while Horizon restarts, requests wait in the socket instead of failing. Not in the
# service's RuntimeDirectory, which systemd gives to Horizon's user (and group) at each start.
HORIZON_SOCKET_UNIT = f"{SYSTEMD_UNITS}/horizon.socket"
UWSGI_SOCKET = "/run/horizon.sock"
# systemd creates it under /run for each start of uWSGI (the unit's RuntimeDirectory), writable
# by Horizon alone.
RUNTIME_DIRECTORY = "horizon"
UWSGI_RUNTIME_DIR = f"/run/{RUNTIME_DIRECTORY}"
# systemd's own kill, for the unit's reload (SIGHUP: uWSGI's graceful reload).
KILL = "/bin/kill"
# Horizon's temporary files (its TMPDIR): the service's private /var/tmp (PrivateTmp), on disk,
# where /tmp may be a file system in memory (Debian 13's is). uWSGI keeps a request body there
# beyond its post-buffering, Django an uploaded file while Horizon streams it to Glance. Seen
# from the host, each start of the service has its own directory beneath the same path.
HORIZON_TMPDIR = "/var/tmp"
# Django names an uploaded file's temporary copy tmpXXXXXXXX.upload[.EXT].
UPLOAD_MARK = ".upload"
# Where NGINX keeps a request body before it passes it on (Debian's and Ubuntu's build).
NGINX_BODY_TEMP = "/var/lib/nginx/body"
# Each upload through Horizon is on disk this many times at once, by where: NGINX's copy, then
# uWSGI's and Django's in Horizon's temporary directory.
UPLOAD_COPIES = MappingProxyType({NGINX_BODY_TEMP: 1, HORIZON_TMPDIR: 2})
# Horizon's URLs (regular expressions, under WEBROOT) that take an upload's bytes: an image's in
# the legacy upload mode, an object's for Swift.
IMAGE_UPLOAD_URL = "api/glance/images/$"
OBJECT_UPLOAD_URL = "api/swift/containers/[^/]+/object/"
# Seconds a request may take before uWSGI kills its worker (a hung call), uploads aside
# (horizon_upload_timeout); the API timeout stays below it.
REQUEST_TIME_LIMIT = 60

# The deploy's own code in Horizon (operations/runtime/horizon_deploy.py), imported by the
# settings drop-in from this directory, beside the packages' own and out of their way.
RUNTIME_DIR = "/usr/local/lib/horizon-deploy"
RUNTIME_MODULE = "horizon_deploy"
RUNTIME_FILE = f"{RUNTIME_DIR}/{RUNTIME_MODULE}.py"

# Horizon's settings and what they read.
SECRET_KEY_FILE = f"{SETTINGS_DIR}/secret_key"
# Sorted after the distribution's drop-ins (Debian's _0006_debian_cache.py forces a per-process
# cache that breaks logins across uWSGI workers), so that these settings win.
SETTINGS_DROPIN_NAME = "_9000_nginx_uwsgi.py"
# The operator's CA for the APIs' certificates (horizon_api_ca_certificate).
API_CA_CERTIFICATE = f"{SETTINGS_DIR}/api-ca.pem"
# The operator's customisation module (horizon_customization_module), alone in a directory put
# on sys.path. Horizon imports a customisation module from its package: a namespace package here.
CUSTOMIZATION_DIR = f"{SETTINGS_DIR}/python"
CUSTOMIZATION_PACKAGE = "dashboard_operator"
CUSTOMIZATION_MODULE = f"{CUSTOMIZATION_PACKAGE}.customization"
CUSTOMIZATION_FILE = f"{CUSTOMIZATION_DIR}/{CUSTOMIZATION_MODULE.replace('.', '/')}.py"
# Read by the settings drop-in: only Horizon's user can, as with the secret key.
DATABASE_PASSWORD_FILE = f"{SETTINGS_DIR}/database-password"
POLICY_OVERRIDES_DIR = f"{SETTINGS_DIR}/policy-overrides"
POLICY_OVERRIDES_FILE = "horizon-deploy.yaml"
# Horizon's POLICY_FILES services.
POLICY_SERVICES = ("identity", "compute", "volume", "image", "network")
# Under WEBROOT: answered by Horizon's workers before sessions, CSRF or templates (the settings
# drop-in), for load balancers and monitoring.
HEALTH_CHECK = "healthz"
# While it exists, the health check answers 503 "draining" to everyone but this host itself: a
# deploy run creates it before it restarts or reloads anything on a host of a fleet, so that the
# load balancer sends users to the other hosts, and removes it once the host serves the new
# configuration. Under /run: a reboot forgets it.
DRAINING_MARK = "/run/horizon-draining"

# The operator's look, beside the packages' own data, out of their way: apt never touches
# /usr/local.
THEMES_DIR = "/usr/local/share/openstack-dashboard/themes"
BRANDING_DIR = "/usr/local/share/openstack-dashboard/branding"
# The names Horizon's templates ask for (`themable_asset`). Horizon's own themes have none of
# their own, so they show the dashboard's, which the static build replaces with these.
BRANDING_FILES = {"logo": "logo.svg", "logo_splash": "logo-splash.svg", "favicon": "favicon.ico"}
BRANDING_PATHS = {key: f"{BRANDING_DIR}/{name}" for key, name in BRANDING_FILES.items()}

# The static build. Horizon sets COMPRESS_OUTPUT_DIR to "dashboard". A build is collected into
# STATIC_BUILD beside the served files (the build's commands get it as Django's STATIC_ROOT from
# this environment variable), then switched in place of them; the previous build stays as
# STATIC_PREVIOUS until the next build. NGINX serves from it what the served build lacks, under
# this URI of its own that only NGINX's internal redirects reach.
STATIC_BUILD = f"{STATIC_ROOT}.new"
STATIC_PREVIOUS = f"{STATIC_ROOT}.previous"
STATIC_PREVIOUS_URI = "/horizon-deploy-previous-static/"
STATIC_BUILD_VARIABLE = "HORIZON_DEPLOY_STATIC_ROOT"
COMPRESS_MANIFEST = f"{STATIC_ROOT}/dashboard/manifest.json"
# The deploy's scripts; operators can run them by hand too.
COMPRESS = "/usr/local/sbin/horizon-compress"
CHECK_STATIC = "/usr/local/sbin/horizon-check-static"
BUILD_STATIC = "/usr/local/sbin/horizon-build-static"
PIP_PLUGINS_SCRIPT = "/usr/local/sbin/horizon-pip-plugins"
CHECK_SITE = "/usr/local/sbin/horizon-check-site"
# Left by Horizon's workers when a page failed for want of a block in the offline manifest
# (see the settings drop-in): the site answers 500 for a reason the deploy owns, and repairs.
STATIC_FAILED_MARK = f"{UWSGI_RUNTIME_DIR}/static-files-failed"

# A run touches a service's stamp here right after restarting or reloading it. An input file
# newer than the stamp means an earlier run changed it and stopped before the restart (killed,
# or its connection lost): this run restarts the service even though it changes nothing itself.
STAMPS = "/var/lib/horizon-deploy"
# Written when the static files are complete (see horizon.py), with the digest of what the served
# build was made from; STATIC_PREVIOUS_BUILT holds the previous build's. A run whose inputs are
# the previous build's (a change rolled back) switches that build back in instead of building.
STATIC_BUILT = f"{STAMPS}/static-files"
STATIC_PREVIOUS_BUILT = f"{STAMPS}/static-files.previous"
# The plugins a run installed from PyPI, one requirement a line: those the next run no longer
# finds listed are uninstalled (pip cannot tell them from the packages it added for them).
# Newer than the static build or Horizon's last reload: a run stopped between installing and
# applying them.
PIP_PLUGINS_RECORD = f"{STAMPS}/pip-plugins"
# The database the session table was last created in (see sessions.py).
SESSIONS_MIGRATED = f"{STAMPS}/session-database"
# Root's, emptied at every boot; a run killed midway leaves nothing behind in /tmp or a home.
UPLOADS_PARENT = "/run/horizon-deploy"
UPLOADS = f"{UPLOADS_PARENT}/uploads"

# NGINX.
NGINX_SITE = "/etc/nginx/sites-available/horizon"
NGINX_ENABLED_SITE = "/etc/nginx/sites-enabled/horizon"
# The distribution's own site, which would answer for any name: disabled.
NGINX_DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
HEADERS_SNIPPET = "/etc/nginx/snippets/horizon-headers.conf"
TLS_SNIPPET = "/etc/nginx/snippets/horizon-tls.conf"
UWSGI_SNIPPET = "/etc/nginx/snippets/horizon-uwsgi.conf"
DOCROOT = "/var/www/horizon"
# Debian's, rotated by its logrotate; the dashboard's server blocks log there in their own format.
NGINX_ACCESS_LOG = "/var/log/nginx/access.log"
TLS_CERTIFICATE = "/etc/ssl/certs/horizon-dashboard.pem"
TLS_KEY = "/etc/ssl/private/horizon-dashboard.key"
TLS_CLIENT_CA = "/etc/ssl/certs/horizon-client-ca.pem"

# memcached, as Debian's package runs it.
MEMCACHED_CONF = "/etc/memcached.conf"
MEMCACHED_PIDFILE = "/var/run/memcached/memcached.pid"
MEMCACHED_PORT = 11211
# A host alone runs a second memcached, with the second copy of each session (in a fleet, another
# host's memcached keeps it): either can restart without logging anyone out.
MEMCACHED_REPLICA_SERVICE = "memcached-replica"
MEMCACHED_REPLICA_UNIT = f"{SYSTEMD_UNITS}/{MEMCACHED_REPLICA_SERVICE}.service"
MEMCACHED_REPLICA_CONF = "/etc/memcached-replica.conf"
MEMCACHED_REPLICA_PIDFILE = "/run/memcached/memcached-replica.pid"
MEMCACHED_REPLICA_PORT = 11212
# Debian's: reads a memcached.conf (one option per line) and runs memcached with its options.
MEMCACHED_WRAPPER = "/usr/share/memcached/scripts/systemd-memcached-wrapper"

# Expired sessions' cleanup, with sessions in a database.
CLEANUP_SERVICE = f"{SYSTEMD_UNITS}/horizon-clearsessions.service"
CLEANUP_TIMER = f"{SYSTEMD_UNITS}/horizon-clearsessions.timer"

# Metrics (horizon_metrics_listen), each exporter on the operator's address at /metrics, on the
# ports Prometheus' exporters usually take.
NGINX_EXPORTER_PORT = 9113
UWSGI_EXPORTER_PORT = 9117
HAPROXY_METRICS_PORT = 8405
# NGINX's counters, for its exporter alone: on the loopback.
NGINX_STATUS_ADDRESS = "127.0.0.1:8089"
NGINX_STATUS_PATH = "/stub_status"
# Debian's exporter, told where those are by a drop-in written before the package starts it.
NGINX_EXPORTER_SERVICE = "prometheus-nginx-exporter"
NGINX_EXPORTER_BINARY = f"/usr/bin/{NGINX_EXPORTER_SERVICE}"
NGINX_EXPORTER_DROPIN = f"{SYSTEMD_UNITS}/{NGINX_EXPORTER_SERVICE}.service.d/horizon.conf"
# uWSGI's stats (which show the requests in flight, cookies included) on a socket only the
# exporter's user may reach: a directory of Horizon's, setgid to the exporter's group, made at
# every boot by systemd-tmpfiles.
METRICS_USER = "horizon-metrics"
UWSGI_STATS_DIR = "/run/horizon-metrics"
UWSGI_STATS_DIR_MODE = "2750"
UWSGI_STATS_SOCKET = f"{UWSGI_STATS_DIR}/uwsgi-stats.sock"
METRICS_TMPFILES = "/etc/tmpfiles.d/horizon-metrics.conf"
UWSGI_EXPORTER_SERVICE = "horizon-uwsgi-exporter"
UWSGI_EXPORTER_UNIT = f"{SYSTEMD_UNITS}/{UWSGI_EXPORTER_SERVICE}.service"
UWSGI_EXPORTER_FILE = f"{RUNTIME_DIR}/horizon_uwsgi_exporter.py"
METRICS_FILES = (NGINX_EXPORTER_DROPIN, METRICS_TMPFILES, UWSGI_EXPORTER_UNIT, UWSGI_EXPORTER_FILE)

# HAProxy in front of a fleet, as Debian's package sets it up.
HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"
HAPROXY_CHROOT = "/var/lib/haproxy"
HAPROXY_ADMIN_SOCKET = "/run/haproxy/admin.sock"
# Its health checks of each dashboard host: every HAPROXY_CHECK_SECONDS; out of rotation after
# HAPROXY_FALL failed ones in a row, back after HAPROXY_RISE good ones.
HAPROXY_CHECK_SECONDS = 2
HAPROXY_FALL = 2
HAPROXY_RISE = 2
SYSLOG_SOCKET = "/dev/log"

# The operator's optional files (operations.optional_file): each is removed from the host when
# its key is unset.
OPTIONAL_FILES = (API_CA_CERTIFICATE, TLS_CLIENT_CA, *BRANDING_PATHS.values())

# Free space (MiB) the deploy needs where it writes: the packages, while some are still missing
# (with apt's downloads); the uWSGI virtualenv; the static files, which are collected afresh
# while Horizon still serves the old ones (about 50 MiB on Debian 12).
FREE_SPACE_FOR_PACKAGES = {"/usr": 1024, "/var/cache/apt": 300}
FREE_SPACE_ALWAYS = {"/opt": 100, STATIC_ROOT: 200}

# What templates see as ``layout``: every name above, in lower case.
LAYOUT = MappingProxyType({name.lower(): value for name, value in dict(globals()).items() if name.isupper()})
