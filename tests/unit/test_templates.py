"""The configuration files the templates produce, rendered locally."""

import configparser
import json
import re
import subprocess
import sys

import pytest

from operations import render as render_template
from operations.layout import (
    API_CA_CERTIFICATE,
    CUSTOMIZATION_DIR,
    CUSTOMIZATION_MODULE,
    LAYOUT,
    SECRET_KEY_FILE,
    STATIC_FAILED_MARK,
    TLS_CLIENT_CA,
)
from operations.settings import HostFacts, Node, resolve, resolve_load_balancer
from tests.unit.host_libraries import RUNTIME_DIR, host_libraries

DEBIAN = HostFacts(os_id="debian", os_version="12", fqdn="dash.example.com", cpus=2)
UBUNTU = HostFacts(os_id="ubuntu", os_version="24.04", fqdn="dash.example.com", cpus=2)


def render(name, facts=DEBIAN, layout=None, **data):
    """Rendered as the deploy renders it: from the host's checked configuration and the settings'
    marker, with ``layout`` (operations.layout, some of it replaced when given)."""
    replaced = {"layout": {**LAYOUT, **layout}} if layout else {}
    return render_template(name, config=resolve(data, facts), settings_marker="0123456789abcdef", **replaced)


def uwsgi_ini(**data):
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.read_string(render("uwsgi-horizon.ini.j2", **data))
    return parser["uwsgi"]


def unit_section(name: str, section: str):
    return unit_section_of(render(name), section)


def unit_section_of(unit: str, section: str):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit)
    return parser[section]


def test_uwsgi_takes_the_socket_systemd_listens_on_under_run_never_world_writable_never_removed():
    ini = uwsgi_ini()
    socket = unit_section("horizon.socket.j2", "Socket")
    assert ini["socket"] == socket["ListenStream"] == "/run/horizon.sock"
    assert (socket["SocketUser"], socket["SocketGroup"], socket["SocketMode"]) == ("horizon", "www-data", "0660")
    # uWSGI removing it at exit would leave NGINX nothing to connect to during a restart.
    assert not {"vacuum", "chmod-socket", "chown-socket"} & set(ini)
    assert "/tmp" not in render("uwsgi-horizon.ini.j2")


def test_a_stop_lets_uwsgis_workers_finish_their_requests_and_requests_wait_in_systemds_socket():
    ini = uwsgi_ini()
    service = unit_section("horizon.service.j2", "Service")
    assert ini["hook-master-start"] == "unix_signal:15 gracefully_kill_them_all"
    # systemd's SIGTERM to the master alone: the workers finish their requests.
    assert service["KillMode"] == "mixed"
    unit = unit_section("horizon.service.j2", "Unit")
    assert unit["Requires"] == "horizon.socket" and "horizon.socket" in unit["After"].split()


def test_uwsgi_has_large_buffer_threads_and_refuses_to_start_without_the_app():
    ini = uwsgi_ini(horizon_uwsgi_processes=5, horizon_uwsgi_threads=3)
    assert int(ini["buffer-size"]) >= 32768
    assert ini["processes"] == "5" and ini["threads"] == "3"
    assert ini["enable-threads"] == "true"
    assert ini["need-app"] == "true"
    assert ini["master"] == "true"


def test_uwsgi_entry_point_follows_the_platform():
    assert uwsgi_ini()["wsgi-file"] == "/usr/share/openstack-dashboard/wsgi.py"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render("uwsgi-horizon.ini.j2", facts=UBUNTU))
    assert parser["uwsgi"]["module"] == "openstack_dashboard.wsgi:application"


def test_distro_uwsgi_loads_the_python3_plugin_and_no_virtualenv():
    ini = uwsgi_ini(horizon_uwsgi_source="distro")
    assert ini["plugins"] == "python3"
    assert "virtualenv" not in ini


def test_systemd_unit_runs_unprivileged_and_creates_the_socket_directory():
    unit = render("horizon.service.j2")
    assert "User=horizon" in unit
    assert "RuntimeDirectory=horizon" in unit
    assert "Type=notify" in unit
    assert "ExecStart=/opt/horizon-uwsgi/bin/uwsgi --ini /etc/uwsgi/horizon.ini" in unit
    assert "WantedBy=multi-user.target" in unit


@pytest.mark.parametrize("webroot", ["/", "/dashboard/"])
def test_nginx_site_has_the_article_shape_and_static_follows_webroot(webroot):
    site = render("nginx-horizon.conf.j2", horizon_webroot=webroot, horizon_http_port=8080)
    assert "listen 8080;" in site
    assert f"location {webroot}static/ {{" in site
    assert "alias /var/lib/openstack-dashboard/static/;" in site
    assert f"location {webroot} {{\n        try_files $uri @horizon;" in site
    assert "uwsgi_pass unix:/run/horizon.sock;" in render("nginx-uwsgi.conf.j2")
    assert "max-age=2592000" in site
    assert site.count("{") == site.count("}")


def settings_dropin(layout=None, **data) -> dict:
    """The settings drop-in rendered from ``data`` and executed: the settings it leaves. Horizon
    execs its drop-ins in the namespace of its settings module, which already holds these; the
    libraries it imports are stand-ins (host_libraries), the deploy's own module the real one."""
    source = render("horizon-settings.py.j2", layout={"runtime_dir": str(RUNTIME_DIR), **(layout or {})}, **data)
    namespace = {
        "__name__": "openstack_dashboard.settings",
        "HORIZON_CONFIG": {"user_home": "openstack_dashboard.views.get_user_home"},
        "MIDDLEWARE": ("django.middleware.common.CommonMiddleware", "horizon.middleware.SimultaneousSessionsMiddleware"),
        "POLICY_DIRS": {"compute": ["nova_policy.d"]},
        "SIMULTANEOUS_SESSIONS": "allow",
        "AVAILABLE_THEMES": [("default", "Default", "themes/default"), ("material", "Material", "themes/material")],
    }
    with host_libraries():
        before = list(sys.path)
        exec(compile(source, "dropin", "exec"), namespace)
        namespace["added to sys.path"] = [path for path in sys.path if path not in before]
    return namespace


def test_template_fragments_are_cached_in_each_process_not_in_memcached():
    # A fragment in memcached outlived the static build it was compressed with (issue 15).
    caches = settings_dropin()["CACHES"]
    assert caches["template_fragments"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_a_page_failing_for_want_of_a_manifest_entry_leaves_the_mark_the_next_run_looks_for():
    deploy = settings_dropin()["_deploy"]
    (receiver,) = deploy.got_request_exception.receivers
    assert receiver.__closure__[0].cell_contents == STATIC_FAILED_MARK


def test_settings_dropin_is_valid_python_with_memcached_sessions():
    namespace = settings_dropin(
        horizon_memcached_servers="10.0.0.1:11211,10.0.0.2:11211",
        horizon_webroot="/dashboard/",
        horizon_keystone_url="https://keystone.example.com:5000/v3",
    )
    session = namespace["_deploy"].keystoneauth_session.Session
    assert namespace["SECRET_KEY"] == f"read:{SECRET_KEY_FILE}"
    assert namespace["DEBUG"] is False
    assert namespace["WEBROOT"] == "/dashboard/"
    assert namespace["STATIC_URL"] == "/dashboard/static/"
    assert namespace["LOGIN_URL"] == "/dashboard/auth/login/"
    # Django's cache sessions, but a login goes on when memcached refuses the new session.
    assert namespace["SESSION_ENGINE"] == "horizon_deploy" and namespace["_deploy"].SessionStore
    cache = namespace["CACHES"]["default"]
    # Django's pymemcache backend, whose connections outlive a request.
    assert cache["BACKEND"] == "horizon_deploy.PersistentPyMemcacheCache"
    assert cache["LOCATION"] == ["10.0.0.1:11211", "10.0.0.2:11211"]
    assert cache["OPTIONS"]["ignore_exc"] is True
    assert namespace["OPENSTACK_KEYSTONE_URL"] == "https://keystone.example.com:5000/v3"
    assert namespace["ALLOWED_HOSTS"] == ["dash.example.com"]
    assert namespace["HORIZON_CONFIG"]["user_home"] is namespace["_deploy"].landing_page
    assert namespace["MIDDLEWARE"] == (
        "horizon_deploy.RequestTimeLimitMiddleware",
        "horizon_deploy.HealthCheckMiddleware",
        "django.middleware.common.CommonMiddleware",
        "horizon_deploy.ServiceUnavailableMiddleware",
    ), "time limit, health check first; the middleware that only writes to memcached under SIMULTANEOUS_SESSIONS = 'allow' gone"
    # The operator's overrides are read after the distribution's own policy directories.
    assert namespace["POLICY_DIRS"]["compute"] == ["nova_policy.d", "/etc/openstack-dashboard/policy-overrides/compute"]
    assert namespace["POLICY_DIRS"]["identity"] == ["/etc/openstack-dashboard/policy-overrides/identity"]
    # Every API session gets a timeout, unless its maker chose one.
    assert (session().timeout, session(timeout=5).timeout) == (30.0, 5)
    # Horizon's own defaults stand where the operator chose nothing.
    assert "AVAILABLE_REGIONS" not in namespace and "OPENSTACK_SSL_CACERT" not in namespace
    assert "help_url" not in namespace["HORIZON_CONFIG"] and "SITE_BRANDING_LINK" not in namespace


def test_sessions_in_a_database_use_its_mysql_server_and_read_the_password_from_its_file(tmp_path):
    password = tmp_path / "database-password"
    password.write_text("s3cret")
    namespace = settings_dropin(
        layout={"database_password_file": str(password)},
        horizon_session_engine="cached_db", horizon_database_host="db.example.com", horizon_database_password="s3cret"
    )
    assert namespace["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert "SessionStore" not in namespace
    database = namespace["DATABASES"]["default"]
    assert (database["ENGINE"], database["HOST"], database["PORT"]) == ("django.db.backends.mysql", "db.example.com", 3306)
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == ("horizon", "horizon", "s3cret")
    assert "s3cret" not in render("horizon-settings.py.j2", horizon_session_engine="db",
                                  horizon_database_host="db.example.com", horizon_database_password="s3cret")


def test_settings_dropin_offers_the_operators_regions_domains_and_branding(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    namespace = settings_dropin(
        horizon_keystone_regions={"east": "https://keystone.east:5000/v3", "west": "https://keystone.west:5000/v3"},
        horizon_keystone_multidomain="true",
        horizon_keystone_domain_choices="Default, Partners",
        horizon_endpoint_type="internalURL",
        horizon_api_ca_certificate=str(ca),
        horizon_site_branding="Example Cloud",
        horizon_help_url="https://help.example.com/",
    )
    assert namespace["AVAILABLE_REGIONS"] == [
        ["https://keystone.east:5000/v3", "east"],
        ["https://keystone.west:5000/v3", "west"],
    ]
    assert namespace["OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT"] is True
    assert namespace["OPENSTACK_KEYSTONE_DOMAIN_DROPDOWN"] is True
    assert namespace["OPENSTACK_KEYSTONE_DOMAIN_CHOICES"] == [("Default", "Default"), ("Partners", "Partners")]
    assert namespace["OPENSTACK_KEYSTONE_DEFAULT_DOMAIN"] == "Default"
    assert namespace["OPENSTACK_KEYSTONE_DEFAULT_ROLE"] == "member"
    assert namespace["OPENSTACK_ENDPOINT_TYPE"] == "internalURL"
    assert namespace["OPENSTACK_SSL_CACERT"] == API_CA_CERTIFICATE
    assert namespace["SITE_BRANDING"] == "Example Cloud"
    assert namespace["HORIZON_CONFIG"]["help_url"] == "https://help.example.com"


def test_websso_offers_the_choices_and_checks_tokens_with_the_configured_keystone_only():
    namespace = settings_dropin(
        horizon_websso_choices='{"credentials": "Keystone Credentials", "oidc": "OpenID Connect", "acme": "ACME"}',
        horizon_websso_idp_mapping={"acme": ["acme-idp", "saml2"]},
        horizon_websso_keystone_url="https://keystone.example.com:5000/v3",
    )
    assert namespace["WEBSSO_ENABLED"] is True
    assert namespace["WEBSSO_CHOICES"] == [("credentials", "Keystone Credentials"), ("oidc", "OpenID Connect"), ("acme", "ACME")]
    assert namespace["WEBSSO_IDP_MAPPING"] == {"acme": ("acme-idp", "saml2")}
    assert namespace["WEBSSO_INITIAL_CHOICE"] == "credentials"
    assert namespace["WEBSSO_KEYSTONE_URL"] == "https://keystone.example.com:5000/v3"
    assert namespace["WEBSSO_USE_HTTP_REFERER"] is False
    assert "WEBSSO_ENABLED" not in settings_dropin()


def test_operators_themes_follow_horizons_own_and_the_user_menu_offers_those_chosen(tmp_path):
    for name in ("_variables.scss", "_styles.scss"):
        (tmp_path / name).write_text("")
    namespace = settings_dropin(
        horizon_themes={"acme": {"label": "ACME", "source": str(tmp_path)}},
        horizon_default_theme="acme",
        horizon_selectable_themes="acme,default",
    )
    acme = ("acme", "ACME", "/usr/local/share/openstack-dashboard/themes/acme")
    assert [tuple(theme) for theme in namespace["AVAILABLE_THEMES"]] == [
        ("default", "Default", "themes/default"), ("material", "Material", "themes/material"), acme
    ]
    assert [tuple(theme) for theme in namespace["SELECTABLE_THEMES"]] == [acme, ("default", "Default", "themes/default")]
    assert namespace["DEFAULT_THEME"] == "acme"


def test_operators_settings_come_last_and_their_customisation_module_is_importable(tmp_path):
    module = tmp_path / "custom.py"
    module.write_text("import horizon\n")
    namespace = settings_dropin(
        horizon_extra_settings='{"SESSION_REFRESH": false, "HORIZON_CONFIG": {"modal_backdrop": "static"}, '
        '"OPENSTACK_HYPERVISOR_FEATURES": {"can_set_password": true, "note": null}}',
        horizon_customization_module=str(module),
    )
    assert namespace["SESSION_REFRESH"] is False
    assert namespace["OPENSTACK_HYPERVISOR_FEATURES"] == {"can_set_password": True, "note": None}
    # Merged: what the deploy put in HORIZON_CONFIG stays.
    assert namespace["HORIZON_CONFIG"]["modal_backdrop"] == "static"
    assert namespace["HORIZON_CONFIG"]["user_home"] is namespace["_deploy"].landing_page
    assert namespace["HORIZON_CONFIG"]["customization_module"] == CUSTOMIZATION_MODULE
    assert CUSTOMIZATION_DIR in namespace["added to sys.path"]


def test_uwsgi_mounts_horizon_under_a_webroot_other_than_slash():
    ini = uwsgi_ini(horizon_webroot="/dashboard/")
    assert ini["mount"] == "/dashboard=/usr/share/openstack-dashboard/wsgi.py"
    assert ini["manage-script-name"] == "true"
    assert "wsgi-file" not in ini


def test_nginx_site_drops_unknown_names_hides_its_version_and_bounds_slow_clients():
    site = render("nginx-horizon.conf.j2")
    default_server = site[site.index("server {") : site.index("}", site.index("server {"))]
    assert "default_server;" in default_server and "return 444;" in default_server
    assert site.count("server_tokens off;") == site.count("server {") == 4
    for directive in ("client_header_timeout 15s;", "client_body_timeout 30s;", "send_timeout 30s;", "keepalive_timeout 30s;"):
        assert directive in site
    # The server's headers and the static locations' own (the served build, the previous one):
    # a location's add_header drops the inherited ones.
    assert site.count("include /etc/nginx/snippets/horizon-headers.conf;") == 3


def test_https_by_default_with_mozilla_intermediate_and_http_sent_to_https():
    site = render("nginx-horizon.conf.j2")
    assert "listen 443 ssl http2;" in site and "ssl_certificate /etc/ssl/certs/horizon-dashboard.pem;" in site
    assert "ssl_reject_handshake on;" in site
    assert "return 301 https://$host$request_uri;" in site
    assert "uwsgi_param HTTP_X_FORWARDED_PROTO $scheme;" in render("nginx-uwsgi.conf.j2")
    tls = render("nginx-tls.conf.j2")
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls and "ssl_session_tickets off;" in tls
    assert "ssl_protocols TLSv1.3;" in render("nginx-tls.conf.j2", horizon_tls_profile="modern")
    assert 'Strict-Transport-Security "max-age=63072000" always;' in render("nginx-headers.conf.j2")


@pytest.mark.parametrize(
    ("os_id", "version", "listen", "directive", "brotli"),
    [
        ("debian", "12", "listen 443 ssl http2;", False, True),
        ("debian", "13", "listen 443 ssl;", True, True),
        ("ubuntu", "22.04", "listen 443 ssl http2;", False, False),
        ("ubuntu", "24.04", "listen 443 ssl http2;", False, False),
    ],
)
def test_https_speaks_http2_in_each_nginxs_own_words_and_brotli_twins_go_where_debian_ships_the_module(
    os_id, version, listen, directive, brotli
):
    facts = HostFacts(os_id=os_id, os_version=version, fqdn="dash.example.com", cpus=2)
    site = render("nginx-horizon.conf.j2", facts=facts)
    assert site.count(listen) == 1 and site.count(listen.replace("443", "[::]:443")) == 1
    assert ("    http2 on;" in site) is directive
    # The catch-all server on the same port says the same, which NGINX before 1.25.1 requires.
    assert "listen 443 ssl http2 default_server;" in site or directive
    # Both the served build's location and the previous build's.
    assert site.count("brotli_static on;") == (2 if brotli else 0)
    assert site.count("gzip_static on;") == 2
    build = render("horizon-build-static.j2", facts=facts)
    assert ("twins brotli -f -q 5" in build) is brotli and "twins gzip -k -f -n -6" in build
    assert "http2" not in render("nginx-horizon.conf.j2", facts=facts, horizon_tls=False, horizon_trusted_proxies="10.0.0.5")


def test_without_tls_only_the_trusted_proxies_may_claim_https():
    site = render("nginx-horizon.conf.j2", horizon_tls=False, horizon_trusted_proxies="10.0.0.5,10.1.0.0/24")
    assert "ssl" not in site.replace("ssl_", "")
    assert "set_real_ip_from 10.0.0.5/32;" in site and "set_real_ip_from 10.1.0.0/24;" in site
    assert '"1:https" https;' in site
    uwsgi = render("nginx-uwsgi.conf.j2", horizon_tls=False, horizon_trusted_proxies="10.0.0.5")
    assert "uwsgi_param HTTP_X_FORWARDED_PROTO $horizon_forwarded_proto;" in uwsgi
    assert "Strict-Transport-Security" not in render("nginx-headers.conf.j2", horizon_tls=False, horizon_trusted_proxies="10.0.0.5")


def test_client_certificates_are_asked_for_only_with_their_ca_and_the_health_check_needs_none(tmp_path):
    assert "ssl_verify_client" not in render("nginx-horizon.conf.j2")
    ca = tmp_path / "clients.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    site = render("nginx-horizon.conf.j2", horizon_tls_client_ca=str(ca), horizon_webroot="/dashboard/")
    assert f"ssl_client_certificate {TLS_CLIENT_CA};" in site
    assert '"~^/dashboard/healthz:NONE$" 0;' in site
    assert "if ($horizon_client_refused) {\n        return 403;" in site


@pytest.mark.parametrize("webroot", ["/", "/dash.board/"])
def test_login_attempts_are_rate_limited_and_only_uploads_may_be_large(webroot):
    site = render("nginx-horizon.conf.j2", horizon_webroot=webroot, horizon_login_rate=6, horizon_login_burst=3)
    assert "limit_req_zone $horizon_login_client zone=horizon_login:10m rate=6r/m;" in site
    login = site[site.index(f"location {webroot}auth/login/ {{") :]
    assert login.index("limit_req zone=horizon_login burst=3 nodelay;") < login.index("}")
    assert "client_max_body_size 1m;" in site
    upload = site[site.index("location ~ ^") :]
    assert upload.startswith(f"location ~ ^{webroot.replace('.', chr(92) + '.')}(api/glance/images/$|api/swift/")
    assert upload.index("client_max_body_size 5g;") < upload.index("}")


def test_operators_directives_land_in_the_dashboards_server_block():
    site = render("nginx-horizon.conf.j2", horizon_nginx_extra_directives=["add_header X-Robots-Tag none always;"])
    dashboard = site[site.index("ssl_certificate ") :]
    assert "    add_header X-Robots-Tag none always;\n" in dashboard
    assert "X-Robots-Tag" not in render("nginx-horizon.conf.j2")


def test_sessions_are_kept_twice_and_apart_by_horizons_release():
    namespace = settings_dropin()
    sessions = namespace["CACHES"][namespace["SESSION_CACHE_ALIAS"]]
    assert sessions["BACKEND"] == "horizon_deploy.ReplicatedPyMemcacheCache"
    assert sessions["LOCATION"] == ["127.0.0.1:11211", "127.0.0.1:11212"]
    # Debian 12's Horizon, 23.0.0 (host_libraries).
    assert (sessions["KEY_PREFIX"], sessions["VERSION"]) == ("horizon-sessions", 23)


@pytest.mark.parametrize(("mode", "mercy"), [("legacy", "600"), ("direct", "35"), ("off", "35")])
def test_requests_are_limited_by_horizon_not_uwsgis_harakiri_and_uploads_follow_the_mode(mode, mercy):
    ini = uwsgi_ini(horizon_images_upload_mode=mode)
    # uWSGI's harakiri killed busy workers in the middle of large uploads (see the ini).
    assert "harakiri" not in ini
    # A reload waits for what a worker still streams to Glance, in the legacy mode alone.
    assert ini["worker-reload-mercy"] == mercy
    site = render("nginx-horizon.conf.j2", horizon_images_upload_mode=mode)
    assert "uwsgi_read_timeout 65s;" in site
    upload = site[site.index("location ~ ^") :]
    upload = upload[: upload.index("}")]
    assert ("api/glance/images/$" in upload) == (mode == "legacy")
    assert "api/swift/containers/" in upload and "uwsgi_read_timeout 605s;" in upload
    settings = settings_dropin(horizon_images_upload_mode=mode, horizon_upload_timeout=600)
    assert settings["HORIZON_IMAGES_UPLOAD_MODE"] == mode
    limit, urls, upload_limit = settings["HORIZON_DEPLOY_REQUEST_TIME_LIMITS"]
    assert (limit, upload_limit) == (60, 600)
    assert bool(re.match(urls, "/api/glance/images/")) == (mode == "legacy")
    assert re.match(urls, "/api/swift/containers/c/object/a") and not re.match(urls, "/api/glance/images/abc/")
    assert ("keep_uploads_through_exit" in render("horizon-settings.py.j2", horizon_images_upload_mode=mode)) == (mode == "legacy")


def test_horizons_temporary_files_go_to_its_private_var_tmp_on_disk():
    service = unit_section("horizon.service.j2", "Service")
    assert service["Environment"] == "TMPDIR=/var/tmp" and service["PrivateTmp"] == "yes"


@pytest.mark.parametrize("shape", ["timed", "json"])
def test_every_request_nginx_answers_is_logged_with_its_timings_in_the_chosen_shape(shape):
    site = render("nginx-horizon.conf.j2", horizon_access_log_format=shape)
    # Each server block, the catch-alls' too: otherwise they would log in Debian's combined shape
    # into the same file.
    assert site.count("    access_log /var/log/nginx/access.log horizon;\n") == site.count("\nserver {") == 4
    log_format = site[site.index("log_format horizon ") :]
    log_format = "".join(re.findall(r"'([^']*)'", log_format[: log_format.index(";\n")]))
    for variable in ("$request_time", "$upstream_response_time", "$request_length", "$status", "$remote_addr"):
        assert variable in log_format
    if shape == "json":
        # The line NGINX writes, for a request NGINX served itself, parses as one JSON object.
        line = re.sub(r"\$[a-z_0-9]+", lambda variable: {"$status": "200", "$request_time": "0.004"}.get(variable[0], "1"), log_format)
        line = line.replace('"upstream_response_time":"1"', '"upstream_response_time":"-"')
        assert json.loads(line)["upstream_response_time"] == "-"
    else:
        assert log_format.startswith('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent')


def test_slow_requests_are_logged_by_uwsgi_with_their_duration_unless_turned_off():
    assert uwsgi_ini()["log-slow"] == "5000"
    assert uwsgi_ini(horizon_slow_request_seconds=1)["log-slow"] == "1000"
    assert "log-slow" not in uwsgi_ini(horizon_slow_request_seconds=0)
    # Request logging stays off otherwise: NGINX logs every request.
    assert uwsgi_ini()["disable-logging"] == "true"


def test_the_operation_log_is_off_by_default_and_logs_at_info_whatever_horizons_level():
    assert "OPERATION_LOG_ENABLED" not in settings_dropin()
    settings = settings_dropin(horizon_operation_log=True, horizon_log_level="WARNING")
    assert settings["OPERATION_LOG_ENABLED"] is True
    assert settings["LOGGING"]["loggers"]["horizon.operation_log"] == {"level": "INFO"}


def test_operators_logging_adds_to_the_deploys_and_django_can_load_it():
    syslog = {"class": "logging.handlers.SysLogHandler", "address": "/dev/log"}
    settings = settings_dropin(
        horizon_logging={"handlers": {"syslog": syslog}, "root": {"handlers": ["console", "syslog"], "level": "INFO"}}
    )
    logging_config = settings["LOGGING"]
    assert logging_config["handlers"] == {"console": {"class": "logging.StreamHandler", "formatter": "console"}, "syslog": syslog}
    assert logging_config["root"] == {"handlers": ["console", "syslog"], "level": "INFO"}
    assert logging_config["loggers"]["horizon"] == {"level": "INFO"}
    # As Django hands it to Python at start-up (in a process of its own: this one's logging stays).
    load = "import json, logging.config, sys; logging.config.dictConfig(json.loads(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", load, json.dumps(logging_config)], check=True, capture_output=True)


def test_without_metrics_nothing_listens_for_them_and_uwsgi_has_no_stats():
    assert "stats" not in uwsgi_ini() and "memory-report" not in uwsgi_ini()
    assert "stub_status" not in render("nginx-horizon.conf.j2")
    assert "ReadWritePaths" not in render("horizon.service.j2")


def test_metrics_listen_on_the_operators_address_and_uwsgis_stats_on_a_socket_of_their_group_only():
    ini = uwsgi_ini(horizon_metrics_listen="10.0.0.5")
    assert (ini["stats"], ini["chmod-socket"], ini["memory-report"]) == ("/run/horizon-metrics/uwsgi-stats.sock", "660", "true")
    # The directory the socket is made in: Horizon's, setgid to the exporter's group.
    assert "d /run/horizon-metrics 2750 horizon horizon-metrics -" in render("horizon-metrics.tmpfiles.j2")
    horizon = unit_section_of(render("horizon.service.j2", horizon_metrics_listen="10.0.0.5"), "Service")
    assert horizon["ReadWritePaths"] == "/run/horizon-metrics"
    exporter = unit_section_of(render("horizon-uwsgi-exporter.service.j2", horizon_metrics_listen="10.0.0.5"), "Service")
    assert (exporter["User"], exporter["Group"]) == ("horizon-metrics", "horizon-metrics")
    assert exporter["ExecStart"].split()[1:] == [
        "/usr/local/lib/horizon-deploy/horizon_uwsgi_exporter.py",
        "/run/horizon-metrics/uwsgi-stats.sock",
        "/run/horizon.sock",
        "10.0.0.5:9117",
    ]
    nginx_exporter = render("prometheus-nginx-exporter.conf.j2", horizon_metrics_listen="fd00::5")
    assert (
        "ExecStart=/usr/bin/prometheus-nginx-exporter --nginx.scrape-uri=http://127.0.0.1:8089/stub_status "
        "--web.listen-address=[fd00::5]:9113\n"
    ) in nginx_exporter
    # NGINX's counters on the loopback, for the exporter alone.
    site = render("nginx-horizon.conf.j2", horizon_metrics_listen="10.0.0.5")
    status = site[site.index("listen 127.0.0.1:8089;") :]
    assert "location = /stub_status {\n        stub_status;" in status[: status.index("\n}")]


@pytest.mark.parametrize(("address", "bind"), [(None, None), ("10.0.0.9", "10.0.0.9:8405"), ("fd00::9", "[fd00::9]:8405")])
def test_the_load_balancer_serves_haproxys_own_metrics_on_the_operators_address_only(address, bind):
    data = {"horizon_server_name": "dashboard.example.com", **({"horizon_metrics_listen": address} if address else {})}
    config = resolve_load_balancer(data, (Node("dash1", {}),))
    haproxy = render_template("haproxy.cfg.j2", config=config)
    assert ("use-service prometheus-exporter" in haproxy) == bool(address)
    if address:
        assert f"    bind {bind}\n" in haproxy[haproxy.index("frontend metrics") :]
