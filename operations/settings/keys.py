"""Every configuration key of the deploy, declared once: its default, the check its value must
pass, what it means, and whether it is a secret. The single source of truth.

Set any of them in ``inventory.py`` (host or group data), in ``group_data/*.py``, or on the
command line with ``pyinfra ... --data horizon_http_port=8080``. ``operations.settings`` checks
them; the README's configuration table is generated from this module
(``python -m operations.settings.keys``; ``--update-readme`` writes it there) and a unit test
keeps the two in sync.

A default of ``None`` means "derived on each host": the text says from what. A key fills the
``HorizonConfig`` field of its name without the prefix (``horizon_webroot`` fills ``webroot``)
unless ``HorizonConfig`` derives it; a unit test holds every key to a field.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import checks as check


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    # Takes the raw value (or the default) and returns it coerced, or raises check.Invalid.
    check: Callable[[Any], Any]
    doc: str
    # Never repeated in a message: an error names the key and says the value is hidden.
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    # Where the packages come from
    Setting(
        "horizon_openstack_release",
        "auto",
        check.word,
        "OpenStack release to install. `auto`: the newest Ubuntu Cloud Archive release for the "
        "host's Ubuntu version, or the distribution's own packages on Debian. On Ubuntu a release "
        "newer than the distribution's enables the Cloud Archive for it; a release the Cloud "
        "Archive does not publish for that Ubuntu version is refused.",
    ),
    Setting(
        "horizon_apt_repository_url",
        None,
        check.optional(check.url),
        "Extra apt repository holding the OpenStack packages (a mirror, Debian's OpenStack "
        "backports, an internal repository). Unset: none is added.",
    ),
    Setting(
        "horizon_apt_repository_suite",
        None,
        check.optional(check.word),
        "Suite of the extra repository, e.g. `bookworm-caracal-backports`. Required with the URL.",
    ),
    Setting(
        "horizon_apt_repository_components",
        ["main"],
        check.list_of(check.word),
        "Components of the extra repository.",
    ),
    Setting(
        "horizon_apt_repository_key",
        None,
        check.optional(check.local_file),
        "Local path of the extra repository's signing key (ASCII-armored or binary OpenPGP); it is "
        "installed under `/etc/apt/keyrings/` and named in the source's `Signed-By`. Required "
        "with the URL: unsigned repositories are not supported.",
    ),
    # uWSGI
    Setting(
        "horizon_uwsgi_source",
        "pip",
        check.one_of("pip", "distro"),
        "`pip`: uWSGI built from PyPI into a virtualenv that sees the system's site packages (as "
        "the article did, minus the global `sudo pip`). `distro`: the distribution's `uwsgi-core` "
        "and `uwsgi-plugin-python3`.",
    ),
    Setting(
        "horizon_uwsgi_version",
        "2.0.31",
        check.version,
        "uWSGI version installed from PyPI when `horizon_uwsgi_source` is `pip`.",
    ),
    Setting(
        "horizon_uwsgi_processes",
        None,
        check.optional(check.positive_int),
        "uWSGI worker processes. Unset: one per CPU of the host, at least two (Django rendering "
        "is CPU-bound and holds the GIL: processes give parallelism, and more processes than "
        "CPUs only share the same CPUs; measured in docs/benchmarks/serving.md).",
    ),
    Setting(
        "horizon_uwsgi_threads",
        2,
        check.positive_int,
        "Threads per uWSGI worker: they overlap the time a worker waits for Keystone and the "
        "other APIs (most of a real page's time). Raise it, or the processes, for many users "
        "on a cloud whose APIs answer slowly.",
    ),
    Setting(
        "horizon_slow_request_seconds",
        5,
        check.slow_request_seconds,
        "Horizon's requests that take at least this many seconds are logged by uWSGI with their "
        "duration (`... => generated N bytes in M msecs`) in the journal (`journalctl -u horizon`), "
        "beside its 4xx and 5xx answers. 0: none.",
    ),
    # Identity: what the login page offers and how Horizon talks to Keystone
    Setting(
        "horizon_keystone_url",
        "http://127.0.0.1:5000/v3",
        check.url,
        "Keystone's public v3 endpoint (`OPENSTACK_KEYSTONE_URL`).",
    ),
    Setting(
        "horizon_keystone_regions",
        {},
        check.regions,
        "Keystones the login page offers as regions (`AVAILABLE_REGIONS`), each region's name "
        'to its v3 endpoint, for example `{"east": "https://keystone.east:5000/v3", "west": '
        '"https://keystone.west:5000/v3"}`. Empty: `horizon_keystone_url` alone, no selector.',
    ),
    Setting(
        "horizon_keystone_multidomain",
        False,
        check.boolean,
        "Ask for the domain on the login page (`OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT`); without "
        "it, every user logs in to `horizon_keystone_default_domain`.",
    ),
    Setting(
        "horizon_keystone_default_domain",
        "Default",
        check.text,
        "Domain users log in to when the login page does not ask (`OPENSTACK_KEYSTONE_DEFAULT_DOMAIN`), "
        "and the one the domain field starts with.",
    ),
    Setting(
        "horizon_keystone_domain_choices",
        [],
        check.text_list,
        "Domains the login page offers in a drop-down instead of a text field "
        "(`OPENSTACK_KEYSTONE_DOMAIN_DROPDOWN` and `_CHOICES`). Needs `horizon_keystone_multidomain`.",
    ),
    Setting(
        "horizon_websso_choices",
        {},
        check.websso_choices,
        "Federated login (WebSSO): what the login page offers, each choice's id to its label, for "
        'example `{"credentials": "Keystone Credentials", "oidc": "OpenID Connect"}`. `credentials` '
        "is the password form; any other id is a Keystone federation protocol, or a key of "
        "`horizon_websso_idp_mapping`. Empty: no WebSSO.",
    ),
    Setting(
        "horizon_websso_idp_mapping",
        {},
        check.websso_idp_mapping,
        "Choices that go to one identity provider, id to `[identity provider, protocol]` as "
        'Keystone knows them, for example `{"acme": ["acme-idp", "saml2"]}` (`WEBSSO_IDP_MAPPING`).',
    ),
    Setting(
        "horizon_websso_initial_choice",
        "credentials",
        check.word,
        "The choice the login page starts with (`WEBSSO_INITIAL_CHOICE`).",
    ),
    Setting(
        "horizon_websso_keystone_url",
        None,
        check.optional(check.url),
        "Keystone's endpoint browsers are sent to for WebSSO, when it is not the one Horizon uses "
        "(`WEBSSO_KEYSTONE_URL`). Either way, the token Keystone posts back is checked with "
        "`horizon_keystone_url`, never with a Keystone the request's `Referer` names.",
    ),
    Setting(
        "horizon_keystone_default_role",
        "member",
        check.word,
        "Role Horizon gives a user it adds to a project (`OPENSTACK_KEYSTONE_DEFAULT_ROLE`); it must "
        "exist in Keystone.",
    ),
    Setting(
        "horizon_endpoint_type",
        "publicURL",
        check.one_of("publicURL", "internalURL", "adminURL"),
        "Which of the catalog's endpoints Horizon calls the services at (`OPENSTACK_ENDPOINT_TYPE`): "
        "`internalURL` when the dashboard hosts sit on the cloud's internal network.",
    ),
    Setting(
        "horizon_api_ca_certificate",
        None,
        check.optional(check.pem_certificates),
        "Local path of the CA certificates (PEM) that Keystone's and the other APIs' HTTPS "
        "certificates are checked against (`OPENSTACK_SSL_CACERT`), uploaded 0644. Unset: the "
        "host's trust store. Checking is never turned off.",
    ),
    # Look and feel
    Setting(
        "horizon_site_branding",
        "OpenStack Dashboard",
        check.text,
        "Name of the site in every page's title and the logo's text (`SITE_BRANDING`).",
    ),
    Setting(
        "horizon_site_branding_link",
        None,
        check.optional(check.url),
        "Where the logo links to (`SITE_BRANDING_LINK`). Unset: the dashboard's home page.",
    ),
    Setting(
        "horizon_help_url",
        None,
        check.optional(check.url),
        "Target of the Help entry of the user menu (`HORIZON_CONFIG['help_url']`). Unset: "
        "Horizon's, the OpenStack documentation.",
    ),
    # Horizon
    Setting(
        "horizon_server_name",
        None,
        check.optional(check.hostname),
        "Name the dashboard is served under (NGINX `server_name`, the load balancer's health "
        "check). Unset: the host's FQDN (`hostname -f`); required when several hosts serve one "
        "dashboard.",
    ),
    Setting(
        "horizon_allowed_hosts",
        None,
        check.optional(check.list_of(check.allowed_host)),
        "Django `ALLOWED_HOSTS`: the Host headers Horizon answers. Unset: the server name only. "
        "A wildcard `*` is refused.",
    ),
    Setting(
        "horizon_webroot",
        "/",
        check.webroot,
        "URL path Horizon is served under (`WEBROOT`), starting and ending with `/`, e.g. "
        "`/dashboard/`. Static files follow it.",
    ),
    Setting(
        "horizon_memcached_servers",
        None,
        check.optional(check.list_of(check.host_port)),
        "memcached servers (`host:port`) holding sessions and Horizon's cache; each session is "
        "kept by two of them. Unset: the memcached of every dashboard host "
        "(`horizon_memcached_listen`, port 11211), so that every node lists the same servers and "
        "a user stays logged in whichever node answers; a host alone runs a second one (port "
        "11212, `memcached-replica`). Given, list at least two: one alone logs everyone out when "
        "it restarts.",
    ),
    Setting(
        "horizon_memcached_listen",
        None,
        check.optional(check.listen_address),
        "Address the local memcached listens on. Unset: `127.0.0.1` when this host is the only "
        "dashboard host, its `horizon_node_address` otherwise; set it to the private address "
        "when that name is public. Never a wildcard: memcached has no authentication.",
    ),
    Setting(
        "horizon_memcached_memory",
        64,
        check.positive_int,
        "Megabytes of memory each local memcached keeps sessions and cache in.",
    ),
    Setting(
        "horizon_secret_key",
        None,
        check.optional(check.secret),
        "Django `SECRET_KEY` (at least 32 characters). Unset: generated once on the host and "
        "kept in a 0600 file, never regenerated. Required when several hosts serve one "
        "dashboard, the same on all of them (from a vault or the environment, not in clear in "
        "the inventory).",
        secret=True,
    ),
    Setting(
        "horizon_node_address",
        None,
        check.optional(check.hostname),
        "Address the other hosts of the deploy (load balancer, other dashboard hosts) reach this "
        "one at. Unset: the name pyinfra connects to (`ssh_hostname`, or the inventory name "
        "without its `@connector/` prefix).",
    ),
    Setting(
        "horizon_drain_seconds",
        None,
        check.optional(check.drain_seconds),
        "Seconds a host of a fleet answers its health check with 503 `draining` before a deploy "
        "run restarts or reloads anything on it, and waits after answering 200 again before the "
        "next host's turn: how long the load balancer in front takes to notice either. Hosts "
        "change one at a time (see Roll-outs). Unset: 6 when several hosts serve the dashboard "
        "(the bundled HAProxy checks every 2 s and acts on the second answer), 0 for one host. "
        "0: no draining.",
    ),
    Setting(
        "horizon_api_timeout",
        30,
        check.api_timeout,
        "Seconds Horizon waits for Keystone or another OpenStack API to answer before the page "
        "shows its error message. The clients have no limit of their own: a service that accepts "
        "connections and never answers would hold a uWSGI worker until uWSGI kills it (after "
        "60 s) and the user would get a 502. At most 50.",
    ),
    Setting(
        "horizon_time_zone",
        "UTC",
        check.time_zone,
        "Django `TIME_ZONE`, an IANA name such as `Europe/Paris`.",
    ),
    Setting(
        "horizon_log_level",
        "INFO",
        check.one_of("DEBUG", "INFO", "WARNING", "ERROR"),
        "Level of Horizon's own messages (its `horizon`, `openstack_dashboard` and "
        "`openstack_auth` loggers) in the journal (`journalctl -u horizon`); every other library "
        "logs warnings and errors only.",
    ),
    Setting(
        "horizon_operation_log",
        False,
        check.boolean,
        "Horizon's operation log (`OPERATION_LOG_ENABLED`): who did what, one line for each change "
        "a user makes through the dashboard, from the `horizon.operation_log` logger to the "
        "journal, passwords masked. Horizon's `OPERATION_LOG_OPTIONS` say what a line holds (set "
        "them with `horizon_extra_settings`).",
    ),
    Setting(
        "horizon_logging",
        {},
        check.logging_config,
        "Python logging configuration merged into Horizon's (`LOGGING`), for logs shipped "
        "elsewhere: its `formatters`, `filters`, `handlers` and `loggers` entries are added to the "
        "deploy's (an entry of the same name replaced), its `root` replaces the deploy's (the "
        "journal, warnings), e.g. `{\"handlers\": {\"syslog\": {\"class\": "
        "\"logging.handlers.SysLogHandler\", \"address\": \"/dev/log\"}}, \"root\": "
        "{\"handlers\": [\"console\", \"syslog\"], \"level\": \"WARNING\"}}`. Django loads it "
        "when the run checks the settings, before Horizon reloads: one it refuses fails the run.",
    ),
    Setting(
        "horizon_policy_overrides",
        {},
        check.policy_overrides,
        "Policy rules that override Horizon's copy of a service's policy, by service (`identity`, "
        "`compute`, `volume`, `image`, `network`), for example "
        '`{"identity": {"identity:list_projects": "role:admin"}}` (on the command line, as JSON). '
        "Written to /etc/openstack-dashboard/policy-overrides/SERVICE/; a service left out has its "
        "file removed. Horizon only hides what policy forbids: the services enforce their own.",
    ),
    Setting(
        "horizon_plugins",
        [],
        check.plugins,
        "Dashboard plugins to install from the distribution, by service: `blazar`, `cloudkitty`, "
        "`designate`, `heat`, `ironic`, `magnum`, `manila`, `masakari`, `mistral`, "
        "`neutron-vpnaas`, `octavia`, `senlin`, `trove`, `vitrage`, `watcher`, `zaqar` (their "
        "`python3-*-dashboard` or `-ui` packages). A plugin left out is purged, its settings "
        "drop-in with it. Its panels show to users whose catalog has its service.",
    ),
    Setting(
        "horizon_pip_plugins",
        [],
        check.pip_requirements,
        "Dashboard plugins to install from PyPI into uWSGI's virtualenv (so `horizon_uwsgi_source` "
        "must be `pip`), as requirements pinned with `==` to the release built for the installed "
        "Horizon, e.g. `heat-dashboard==8.0.0` on Debian 12 (Zed). pip adds only the dependencies "
        "the distribution's packages do not satisfy, never its own Horizon or Django (a release "
        "that wants newer ones fails the run). Each plugin's `enabled/_*.py` files are linked "
        "into Horizon's; its settings and policy files are not installed. A plugin left out is "
        "uninstalled and its links removed (the dependencies pip added stay).",
    ),
    Setting(
        "horizon_themes",
        {},
        check.themes,
        "Themes added to Horizon's own (`default`, `material`, and `ubuntu` on Ubuntu), by name: a local directory or tar "
        "archive holding the theme's `_variables.scss` and `_styles.scss` (at its top, under "
        '`static/`, or in one top-level directory), for example `{"acme": "themes/acme.tar.gz"}`, '
        'or `{"acme": {"label": "ACME", "source": "themes/acme"}}` for a label other than the name. '
        "Copied to /usr/local/share/openstack-dashboard/themes/; a theme left out is removed. Static "
        "files are rebuilt whenever the set changes.",
    ),
    Setting(
        "horizon_default_theme",
        None,
        check.optional(check.theme_name),
        "Theme users get until they pick another (`DEFAULT_THEME`): `default`, `material` (and "
        "`ubuntu` on Ubuntu, whose packages add it) or one of `horizon_themes`. Unset: the "
        "distribution's own, `default` on Debian, `ubuntu` on Ubuntu.",
    ),
    Setting(
        "horizon_selectable_themes",
        [],
        check.theme_names,
        "Themes the user menu offers (`SELECTABLE_THEMES`), among them the default. Empty: every "
        "available theme.",
    ),
    Setting(
        "horizon_logo",
        None,
        check.optional(check.svg_file),
        "Local path of an SVG logo for the top left of every page (`img/logo.svg`), for the themes "
        "that do not bring their own. Unset: Horizon's.",
    ),
    Setting(
        "horizon_logo_splash",
        None,
        check.optional(check.svg_file),
        "Local path of an SVG logo for the login page (`img/logo-splash.svg`). Unset: Horizon's.",
    ),
    Setting(
        "horizon_favicon",
        None,
        check.optional(check.icon_file),
        "Local path of the browser tab's icon (`img/favicon.ico`: ICO or PNG). Unset: Horizon's.",
    ),
    Setting(
        "horizon_extra_settings",
        {},
        check.extra_settings,
        "Django and Horizon settings no key covers, name to value (any JSON value), written last in "
        'the settings drop-in, for example `{"OPENSTACK_HYPERVISOR_FEATURES": {"can_set_password": '
        'true}}`; `HORIZON_CONFIG` takes a mapping merged into Horizon\'s. Settings the deploy '
        "writes itself are refused (use their keys). Checked by Django (`manage.py check`) before "
        "Horizon restarts: settings it refuses fail the run and the previous ones are put back.",
        secret=True,
    ),
    Setting(
        "horizon_customization_module",
        None,
        check.optional(check.local_file),
        "Local path of a Python module of customisations Horizon runs once its dashboards are "
        "registered (`HORIZON_CONFIG['customization_module']`: panels removed or moved, tables "
        "changed), uploaded 0640 for the uWSGI user only and checked with the settings.",
    ),
    Setting(
        "horizon_session_timeout",
        3600,
        check.positive_int,
        "Seconds of inactivity before a user is logged out (`SESSION_TIMEOUT`); should not "
        "exceed Keystone's token lifetime.",
    ),
    Setting(
        "horizon_session_engine",
        "cache",
        check.one_of("cache", "cached_db", "db"),
        "Where sessions live. `cache`: memcached alone, each session on two servers (losing both "
        "logs their users out). `cached_db`: memcached in front of a MySQL or MariaDB database, "
        "which keeps them through any memcached restart; `db`: the database alone. With a database the deploy creates the "
        "session table (`manage.py migrate`) and a daily timer deletes expired sessions.",
    ),
    Setting(
        "horizon_database_host",
        None,
        check.optional(check.hostname),
        "MySQL or MariaDB server of the sessions, required with `horizon_session_engine` `db` or "
        "`cached_db`. The database and its user must exist, the user allowed to create tables in it.",
    ),
    Setting(
        "horizon_database_port",
        3306,
        check.port,
        "Port of the sessions' database server.",
    ),
    Setting(
        "horizon_database_name",
        "horizon",
        check.word,
        "Database holding the sessions.",
    ),
    Setting(
        "horizon_database_user",
        "horizon",
        check.word,
        "User Horizon connects to the database as.",
    ),
    Setting(
        "horizon_database_password",
        None,
        check.optional(check.password),
        "That user's password, required with a database; kept in a 0600 file only Horizon's user "
        "reads, never shown. Give it through the environment (`HORIZON_DATABASE_PASSWORD`, read by "
        "`inventory.py`) or a vault, not in clear in the inventory.",
        secret=True,
    ),
    Setting(
        "horizon_password_regex",
        "^.{12,}$",
        check.password_regex,
        "Regular expression every new password set through the dashboard must match "
        "(`HORIZON_CONFIG['password_validator']`); one that accepts an empty password is refused.",
    ),
    Setting(
        "horizon_password_help",
        "At least 12 characters.",
        check.text,
        "What the password form says when a new password does not match `horizon_password_regex`.",
    ),
    # NGINX and TLS
    Setting(
        "horizon_http_port",
        80,
        check.port,
        "TCP port for plain HTTP: a redirect to HTTPS, or the dashboard itself when `horizon_tls` "
        "is false.",
    ),
    Setting(
        "horizon_tls",
        True,
        check.boolean,
        "Serve the dashboard over HTTPS. `false` only behind a TLS-terminating proxy, whose "
        "addresses `horizon_trusted_proxies` must then list.",
    ),
    Setting(
        "horizon_https_port",
        443,
        check.port,
        "TCP port NGINX serves HTTPS on.",
    ),
    Setting(
        "horizon_tls_certificate",
        None,
        check.optional(check.local_file),
        "Local path of the PEM certificate (with its chain) for the server name, uploaded 0644. "
        "Unset: a self-signed certificate generated once on the host and never regenerated.",
    ),
    Setting(
        "horizon_tls_key",
        None,
        check.optional(check.local_file),
        "Local path of the certificate's private key, uploaded 0600 and never shown. Required with "
        "the certificate.",
    ),
    Setting(
        "horizon_tls_profile",
        "intermediate",
        check.one_of("intermediate", "modern"),
        "Mozilla's server-side TLS profile: `intermediate` (TLS 1.2 and 1.3, its cipher list) or "
        "`modern` (TLS 1.3 only).",
    ),
    Setting(
        "horizon_tls_client_ca",
        None,
        check.optional(check.pem_certificates),
        "Local path of a PEM bundle of the CAs whose client certificates may use the dashboard "
        "(mutual TLS, for dashboards on an untrusted network): every request but the health check "
        "is refused without a certificate they signed (403 without any, 400 with another). Unset: "
        "no client certificate is asked for.",
    ),
    Setting(
        "horizon_hsts_max_age",
        63072000,
        check.positive_int,
        "Seconds browsers keep to HTTPS for this name (`Strict-Transport-Security`); two years.",
    ),
    Setting(
        "horizon_trusted_proxies",
        None,
        check.optional(check.list_of(check.network)),
        "Addresses or CIDR ranges of the TLS-terminating proxies in front of plain-HTTP dashboard "
        "hosts: only their `X-Forwarded-Proto` and `X-Forwarded-For` are believed. Required when "
        "`horizon_tls` is false.",
    ),
    Setting(
        "horizon_login_rate",
        10,
        check.positive_int,
        "Login attempts (POSTs to the login URL) per minute NGINX passes on from one client "
        "address; beyond the rate and `horizon_login_burst`, it answers 429. Behind a load balancer "
        "that passes TLS through (the bundled HAProxy) every client has the balancer's address: "
        "raise it there. Behind a TLS-terminating proxy the client's own address counts "
        "(`horizon_trusted_proxies`).",
    ),
    Setting(
        "horizon_login_burst",
        10,
        check.positive_int,
        "Login attempts a client may make at once before `horizon_login_rate` holds it back.",
    ),
    Setting(
        "horizon_max_body_size",
        "1m",
        check.size,
        "Largest request body NGINX accepts (`client_max_body_size`, NGINX size units), except "
        "for uploads; larger ones answer 413. Horizon's forms send a few kilobytes.",
    ),
    Setting(
        "horizon_upload_max_body_size",
        "5g",
        check.size,
        "Largest upload through the dashboard: images in the `legacy` upload mode, and object "
        "store objects. Each is on disk three times while it passes (NGINX's copy under "
        "`/var/lib/nginx/body`, uWSGI's and Django's in Horizon's private `/var/tmp`): a run "
        "refuses a host without the room for that. `0`: unlimited, and unchecked.",
    ),
    Setting(
        "horizon_images_upload_mode",
        "legacy",
        check.one_of("legacy", "direct", "off"),
        "How the Images panel uploads an image's file (`HORIZON_IMAGES_UPLOAD_MODE`). `legacy`: "
        "the browser posts it to Horizon, which streams it to Glance; it works with any Glance. "
        "`direct`: the browser sends it to Glance itself, which must allow the dashboard's origin "
        "(Glance's `[cors] allowed_origin`) and have an image endpoint the browser reaches, over "
        "HTTPS when the dashboard is (see Image uploads). `off`: images from a URL only.",
    ),
    Setting(
        "horizon_upload_timeout",
        600,
        check.upload_timeout,
        "Seconds Horizon may take over an upload's request once NGINX has the body (other "
        "requests: 60), and, in the `legacy` mode, how long an exiting uWSGI worker and a run's "
        "roll-out wait for the images still streaming to Glance: a roll-out fails the host, "
        "naming this key, when some still are (see Image uploads).",
    ),
    Setting(
        "horizon_metrics_listen",
        None,
        check.optional(check.ip_address),
        "Address the metrics exporters listen on, for Prometheus to scrape at `/metrics`: NGINX's "
        "(Debian's `prometheus-nginx-exporter`, port 9113) and uWSGI's (port 9117) on the "
        "dashboard hosts, HAProxy's own (port 8405) on the load balancer. Unset: no exporter, "
        "nothing listens. They have no authentication: name an address of your monitoring "
        "network (`0.0.0.0` is every interface, and only if you say so). See Monitoring.",
    ),
    Setting(
        "horizon_access_log_format",
        "timed",
        check.one_of("timed", "json"),
        "Shape of the dashboard's lines in NGINX's access log (`/var/log/nginx/access.log`, "
        "rotated by Debian's logrotate). `timed`: the combined format followed by "
        "`request_time=` (seconds from the request's first byte to the answer's last), "
        "`upstream_response_time=` (Horizon's part of it; `-` for files NGINX served itself) and "
        "`request_length=` (bytes received). `json`: one JSON object a line with the same fields "
        "(`time`, `remote_addr`, `method`, `uri`, `protocol`, `status`, `body_bytes_sent`, "
        "`request_length`, `request_time`, `upstream_response_time`, `referer`, `user_agent`), "
        "for a log shipper.",
    ),
    Setting(
        "horizon_nginx_extra_directives",
        [],
        check.nginx_directives,
        "NGINX directives added to the dashboard's server block, one per entry, each ending with "
        "`;` (for example `add_header X-Robots-Tag none always;`). Checked with `nginx -t` before "
        "any reload: one NGINX refuses fails the run, and the previous configuration is put back.",
    ),
    Setting(
        "horizon_static_max_age",
        2592000,
        check.positive_int,
        "Seconds browsers may cache static files (`Cache-Control: max-age`); 30 days by default.",
    ),
)

DEFAULTS: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}


def markdown_table() -> str:
    """The README's configuration table."""

    def cell(value: Any) -> str:
        if value is None:
            return "derived"
        if isinstance(value, list):
            value = ",".join(value) or "none"
        if isinstance(value, dict):
            value = value or "none"
        return f"`{value}`"

    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {cell(s.default)} | {s.doc} |" for s in SETTINGS]
    return "\n".join(rows)


def update_readme(readme: Path) -> None:
    """Replace the configuration table in ``readme`` (the lines starting with ``|`` after its header)."""
    text = readme.read_text()
    start = text.index("| key | default | meaning |")
    end = start
    while end < len(text) and text[end] == "|":
        end = text.find("\n", end) + 1 or len(text)
    readme.write_text(text[:start] + markdown_table() + "\n" + text[end:])


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-readme"]:
        update_readme(Path(__file__).resolve().parents[2] / "README.md")
    else:
        print(markdown_table())
