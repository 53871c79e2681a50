"""Host data is coerced from the command line's strings and refused, key by key, when wrong."""

import json
import re
import tarfile
from dataclasses import replace

import pytest

from operations import TEMPLATES
from operations.settings import ConfigError, HostFacts, Node, resolve, resolve_load_balancer
from operations.settings.checks import MANAGED_HORIZON_CONFIG, MANAGED_SETTINGS
from operations.settings.keys import DEFAULTS, SETTINGS
from operations.settings.resolve import config_fields

DEBIAN = HostFacts(os_id="debian", os_version="12", fqdn="dash.example.com", cpus=3)


def test_defaults_resolve_to_a_working_configuration():
    config = resolve({}, DEBIAN)
    assert config.server_name == "dash.example.com"
    assert config.allowed_hosts == ("dash.example.com",)
    assert config.uwsgi_processes == 3
    assert config.openstack_release == "zed"
    assert config.memcached_servers == ("127.0.0.1:11211", "127.0.0.1:11212")
    assert config.memcached_replica
    assert config.static_url == "/static/"


def test_command_line_strings_are_coerced():
    config = resolve(
        {
            "horizon_http_port": "8080",
            "horizon_uwsgi_processes": "3",
            "horizon_allowed_hosts": "a.example.com, b.example.com",
            "horizon_memcached_servers": "10.0.0.1:11211,10.0.0.2:11211",
        },
        DEBIAN,
    )
    assert config.http_port == 8080
    assert config.uwsgi_processes == 3
    assert config.allowed_hosts == ("a.example.com", "b.example.com")
    assert config.memcached_servers == ("10.0.0.1:11211", "10.0.0.2:11211")
    assert resolve({"horizon_upload_max_body_size": 0}, DEBIAN).upload_max_body_size == "0"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("horizon_keystone_url", "ftp://keystone/v3", "expected an http:// or https:// URL"),
        ("horizon_keystone_url", "keystone:5000", "expected an http:// or https:// URL"),
        ("horizon_http_port", "70000", "expected a TCP port, a whole number from 1 to 65535"),
        ("horizon_http_port", "0", "expected a TCP port"),
        ("horizon_uwsgi_processes", "many", "expected a whole number of at least 1"),
        ("horizon_uwsgi_threads", 0, "expected a whole number of at least 1"),
        ("horizon_uwsgi_source", "conda", "expected one of pip, distro"),
        ("horizon_webroot", "dashboard", "expected a URL path that starts and ends with `/`"),
        ("horizon_allowed_hosts", "*", "a wildcard `*` lets any Host header through"),
        ("horizon_memcached_servers", "10.0.0.1", "expected `host:port` entries"),
        ("horizon_time_zone", "Mars/Olympus", "expected an IANA time zone name"),
        ("horizon_uwsgi_version", "latest", "expected a release number"),
        ("horizon_openstack_release", "caracal", "expected `auto` or zed (the release Debian 12 ships)"),
        ("horizon_password_regex", ".*", "expected a regular expression that refuses an empty password"),
        ("horizon_tls", "maybe", "expected true or false"),
        ("horizon_trusted_proxies", "proxy.example.com", "expected IP addresses or CIDR ranges"),
        ("horizon_max_body_size", "1 GB", "expected a size in NGINX's units"),
        ("horizon_login_rate", "-1", "expected a whole number of at least 1"),
        ("horizon_api_timeout", "90", "below the 60 s a request may take"),
        ("horizon_nginx_extra_directives", "add_header X-A b always", "each on one line and ending with `;`"),
        ("horizon_tls_certificate", "/nonexistent/cert.pem", "expected the path of a readable file"),
        ("horizon_log_level", "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR"),
        ("horizon_policy_overrides", {"nova": {"os_compute_api:servers:index": ""}}, "a mapping of services (identity,"),
        ("horizon_policy_overrides", {"identity": ["identity:list_projects"]}, "a mapping of services"),
        ("horizon_policy_overrides", '{"identity": ', "(given as text: JSON)"),
        ("horizon_keystone_regions", {"east": "keystone.east:5000"}, "a mapping of region names to Keystone v3 URLs"),
        ("horizon_keystone_regions", '["https://k:5000/v3"]', "a mapping of region names"),
        ("horizon_endpoint_type", "public", "expected one of publicURL, internalURL, adminURL"),
        ("horizon_keystone_default_role", "project member", "expected a single word"),
        ("horizon_site_branding", "Two\nlines", "expected one line of text"),
        ("horizon_slow_request_seconds", "61", "expected a whole number of seconds from 0 (none logged) to 60"),
        ("horizon_access_log_format", "ltsv", "expected one of timed, json"),
        ("horizon_logging", {"handlers": ["syslog"]}, "expected a mapping of formatters, filters, handlers, loggers"),
        ("horizon_logging", {"root": "WARNING"}, "and root (a mapping)"),
        ("horizon_logging", {"version": 1}, "a mapping of formatters"),
    ],
)
def test_bad_value_is_refused_with_key_value_and_expectation(key, value, expected):
    with pytest.raises(ConfigError) as error:
        resolve({key: value}, DEBIAN)
    message = str(error.value)
    assert f"{key} = {value!r}" in message
    assert expected in message


def test_policy_overrides_are_taken_as_a_mapping_or_as_json_text():
    rules = {"identity": {"identity:list_projects": "role:admin", "identity:get_project": "!"}, "image": {}}
    as_data = resolve({"horizon_policy_overrides": rules}, DEBIAN).policy_overrides
    as_text = resolve({"horizon_policy_overrides": json.dumps(rules)}, DEBIAN).policy_overrides
    # Sorted, and a service with no rules is no override.
    assert as_data == as_text == (("identity", (("identity:get_project", "!"), ("identity:list_projects", "role:admin"))),)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"DEBUG": true, "SWIFT_PASSWORD": "s3cr3t-value"}', "settings the deploy does not write itself, not DEBUG (see its keys)"),
        ({"session_refresh": "s3cr3t-value"}, "a mapping of Django setting names (in capitals)"),
        ({"HORIZON_CONFIG": {"user_home": "s3cr3t-value"}}, "for HORIZON_CONFIG, a mapping without"),
    ],
)
def test_extra_settings_are_refused_without_repeating_their_values(value, expected):
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_extra_settings": value}, DEBIAN)
    assert f"horizon_extra_settings = (value hidden): expected {expected}" in str(error.value)
    assert "s3cr3t" not in str(error.value)


def test_domain_choices_need_the_login_page_to_ask_for_a_domain():
    with pytest.raises(ConfigError, match="horizon_keystone_domain_choices is set but horizon_keystone_multidomain is false"):
        resolve({"horizon_keystone_domain_choices": ["Default", "Partners"]}, DEBIAN)
    config = resolve({"horizon_keystone_domain_choices": "Default,Partners", "horizon_keystone_multidomain": "yes"}, DEBIAN)
    assert config.keystone_domain_choices == ("Default", "Partners")


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_http_port": "x", "horizon_webroot": "y"}, DEBIAN)
    assert "horizon_http_port" in str(error.value) and "horizon_webroot" in str(error.value)


def test_misspelt_key_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="horizon_keystone_ulr: not a configuration key.*did you mean horizon_keystone_url"):
        resolve({"horizon_keystone_ulr": "http://k:5000/v3"}, DEBIAN)


def test_short_secret_key_is_refused_without_showing_it():
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_secret_key": "hunter2"}, DEBIAN)
    assert "hunter2" not in str(error.value)
    assert "horizon_secret_key = (value hidden): expected at least 32 characters" in str(error.value)


def test_secret_key_never_appears_in_the_configuration_repr():
    config = resolve({"horizon_secret_key": "k" * 40}, DEBIAN)
    assert config.secret_key == "k" * 40
    assert "k" * 40 not in repr(config)


def test_extra_repository_needs_url_suite_and_key_together():
    expected = "horizon_apt_repository_url is set but horizon_apt_repository_suite, horizon_apt_repository_key is not"
    with pytest.raises(ConfigError, match=expected):
        resolve({"horizon_apt_repository_url": "http://mirror.example.com/debian"}, DEBIAN)


def test_repository_key_must_exist_locally():
    with pytest.raises(ConfigError, match="horizon_apt_repository_key = '/nonexistent.asc': expected the path of a readable file"):
        resolve(
            {
                "horizon_apt_repository_url": "http://mirror.example.com/debian",
                "horizon_apt_repository_suite": "bookworm",
                "horizon_apt_repository_key": "/nonexistent.asc",
            },
            DEBIAN,
        )


def test_other_release_is_accepted_with_a_repository_that_has_it(tmp_path):
    key = tmp_path / "key.gpg"
    key.write_bytes(b"\x99\x01")
    config = resolve(
        {
            "horizon_openstack_release": "caracal",
            "horizon_apt_repository_url": "http://osbpo.example.com/debian",
            "horizon_apt_repository_suite": "bookworm-caracal-backports",
            "horizon_apt_repository_key": str(key),
        },
        DEBIAN,
    )
    assert config.openstack_release == "caracal"
    assert config.apt_repository.components == ("main",)


def test_every_default_passes_its_own_validation():
    resolve(dict(DEFAULTS), DEBIAN)


def fleet(*names, **data):
    """Dashboard hosts sharing ``data``, as the inventory's `horizon` group gives them."""
    return tuple(Node(name, dict(data)) for name in names)


SHARED = {"horizon_secret_key": "s" * 40, "horizon_server_name": "dashboard.example.com"}


def test_several_dashboard_hosts_share_every_memcached_and_listen_on_their_own_address():
    nodes = fleet("dash1.example.com", "@docker/dash2", **SHARED)
    config = resolve(nodes[1].data, replace(DEBIAN, name="@docker/dash2"), nodes)
    assert config.memcached_servers == ("dash1.example.com:11211", "dash2:11211")
    assert config.memcached_listen == "dash2"
    assert config.node_address == "dash2"
    assert config.memcached_instances == {"memcached": "dash2:11211"}


def test_a_single_dashboard_host_keeps_its_two_memcached_on_loopback():
    config = resolve({}, DEBIAN, fleet("localhost"))
    assert (config.memcached_listen, config.memcached_servers) == ("127.0.0.1", ("127.0.0.1:11211", "127.0.0.1:11212"))
    assert config.memcached_instances == {"memcached": "127.0.0.1:11211", "memcached-replica": "127.0.0.1:11212"}


def test_several_dashboard_hosts_without_a_shared_secret_and_name_are_refused_naming_them():
    nodes = fleet("dash1.example.com", "dash2.example.com")
    with pytest.raises(ConfigError) as error:
        resolve({}, replace(DEBIAN, name="dash1.example.com"), nodes)
    message = str(error.value)
    assert "horizon_secret_key is not set, but 2 hosts serve this dashboard (dash1.example.com, dash2.example.com)" in message
    assert "horizon_server_name is not set, but 2 hosts serve this dashboard" in message


def test_several_dashboard_hosts_refuse_memcached_on_loopback():
    nodes = fleet("dash1.example.com", "dash2.example.com", horizon_memcached_listen="127.0.0.1", **SHARED)
    with pytest.raises(ConfigError, match="horizon_memcached_listen = '127.0.0.1': expected an address the other dashboard hosts reach"):
        resolve(nodes[0].data, replace(DEBIAN, name="dash1.example.com"), nodes)


def test_another_hosts_memcached_address_is_checked_as_this_hosts_is():
    # This host's cache list names the other host's memcached by that host's own data.
    nodes = (Node("dash1.example.com", dict(SHARED)), Node("dash2.example.com", {**SHARED, "horizon_memcached_listen": "::"}))
    with pytest.raises(ConfigError, match="horizon_memcached_listen of dash2.example.com = '::': expected .*not a wildcard"):
        resolve(nodes[0].data, replace(DEBIAN, name="dash1.example.com"), nodes)


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_memcached_never_listens_on_every_interface(wildcard):
    with pytest.raises(ConfigError, match="not a wildcard: memcached has no authentication"):
        resolve({"horizon_memcached_listen": wildcard}, DEBIAN)


def test_load_balancer_checks_every_dashboard_host_through_its_login_page():
    nodes = fleet("@docker/dash1", "dash2.example.com", horizon_https_port=8443)
    config = resolve_load_balancer({"horizon_server_name": "dashboard.example.com", "horizon_webroot": "/horizon/"}, nodes)
    assert [(b.address, b.port) for b in config.backends] == [("dash1", 8443), ("dash2.example.com", 8443)]
    assert (config.server_name, config.health_path, config.tls) == ("dashboard.example.com", "/horizon/healthz", True)
    plain = resolve_load_balancer(
        {"horizon_server_name": "dashboard.example.com", "horizon_tls": False, "horizon_trusted_proxies": "10.0.0.5"},
        fleet("dash1", horizon_http_port=8080),
    )
    assert [(b.address, b.port) for b in plain.backends] == [("dash1", 8080)]


def test_load_balancer_checks_each_dashboard_hosts_address_as_that_host_would():
    nodes = fleet("dash1.example.com", horizon_node_address="10.0.0.5; rm -rf /")
    refused = r"the address of dash1.example.com \(horizon_node_address\) = '10.0.0.5; rm -rf /': expected a DNS"
    with pytest.raises(ConfigError, match=refused):
        resolve_load_balancer({"horizon_server_name": "dashboard.example.com"}, nodes)


def test_load_balancer_needs_the_dashboards_name_and_hosts():
    with pytest.raises(ConfigError) as error:
        resolve_load_balancer({}, ())
    assert "horizon_server_name is not set" in str(error.value)
    assert "no host in the `horizon` group" in str(error.value)


def test_plain_http_needs_the_trusted_proxies_and_a_certificate_needs_its_key(tmp_path):
    certificate = tmp_path / "dashboard.pem"
    certificate.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_tls": "false", "horizon_tls_certificate": str(certificate)}, DEBIAN)
    assert "horizon_tls is false but horizon_trusted_proxies is not set" in str(error.value)
    assert "horizon_tls_certificate and horizon_tls_key go together" in str(error.value)


def test_plugins_from_pypi_must_be_pinned_and_need_uwsgis_virtualenv():
    with pytest.raises(ConfigError, match=r"horizon_pip_plugins = 'heat-dashboard>=8': expected pip requirements pinned"):
        resolve({"horizon_pip_plugins": "heat-dashboard>=8"}, DEBIAN)
    with pytest.raises(ConfigError, match="horizon_pip_plugins is set but horizon_uwsgi_source is not pip"):
        resolve({"horizon_pip_plugins": "heat-dashboard==8.0.0", "horizon_uwsgi_source": "distro"}, DEBIAN)
    config = resolve({"horizon_pip_plugins": ["Heat_Dashboard==8.0.0"]}, DEBIAN)
    assert config.pip_plugins == (("heat-dashboard", "8.0.0"),)


def test_sessions_in_a_database_need_its_server_and_password_which_errors_never_show():
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_session_engine": "cached_db", "horizon_database_password": "pass\nword"}, DEBIAN)
    assert "horizon_database_password = (value hidden): expected a non-empty password on one line" in str(error.value)
    assert "pass" not in str(error.value).replace("password", "")
    with pytest.raises(ConfigError, match="horizon_session_engine is db but horizon_database_host and "
                                          "horizon_database_password not set"):
        resolve({"horizon_session_engine": "db"}, DEBIAN)
    config = resolve({"horizon_session_engine": "db", "horizon_database_host": "db.example.com",
                      "horizon_database_password": "s3cret"}, DEBIAN)
    assert "s3cret" not in repr(config)


def test_client_certificates_need_tls_here_and_their_ca_must_be_pem_certificates(tmp_path):
    ca = tmp_path / "clients.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    plain = {"horizon_tls": "false", "horizon_trusted_proxies": "10.0.0.5", "horizon_tls_client_ca": str(ca)}
    with pytest.raises(ConfigError, match="horizon_tls_client_ca is set but horizon_tls is false"):
        resolve(plain, DEBIAN)
    ca.write_text("-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="expected a readable local PEM file of certificates"):
        resolve({"horizon_tls_client_ca": str(ca)}, DEBIAN)
    # A bundle that opens with comments, as certifi's does, is one.
    ca.write_text("# Issuer: CN=Example Root\n-----BEGIN CERTIFICATE-----\n")
    assert resolve({"horizon_tls_client_ca": str(ca)}, DEBIAN).tls_client_ca == str(ca)


def test_a_host_short_of_disk_space_is_refused_naming_the_path():
    short = HostFacts(
        os_id="debian", os_version="12", fqdn="dash.example.com", cpus=2,
        free_space={"/usr": 400, "/var/cache/apt": 400, "/opt": 500, "/var/lib/openstack-dashboard/static": 20},
        packages_missing=True,
    )
    with pytest.raises(ConfigError) as error:
        resolve({}, short)
    assert "/usr: only 400 MiB free on its file system, the deploy needs 1024 MiB there" in str(error.value)
    assert "/var/lib/openstack-dashboard/static: only 20 MiB free" in str(error.value)
    # Once the packages are in, /usr needs no more room.
    with pytest.raises(ConfigError) as error:
        resolve({}, HostFacts(**{**short.__dict__, "packages_missing": False}))
    assert "/usr" not in str(error.value)


def test_a_host_without_room_for_the_largest_upload_is_refused_naming_the_key_and_file_system():
    def facts(var_tmp: int, body: int, one_file_system: bool) -> HostFacts:
        return HostFacts(
            os_id="debian", os_version="12", fqdn="dash.example.com", cpus=2,
            free_space={"/var/tmp": var_tmp, "/var/lib/nginx/body": body},
            mounts={"/var/tmp": "/", "/var/lib/nginx/body": "/" if one_file_system else "/var/lib"},
        )

    # Three copies of 5 GiB at once: NGINX's, then uWSGI's and Django's in Horizon's /var/tmp.
    with pytest.raises(ConfigError) as error:
        resolve({}, facts(12000, 12000, one_file_system=True))
    assert ("horizon_upload_max_body_size = '5g': an upload that large needs 15360 MiB free on the file system of "
            "/var/lib/nginx/body and /var/tmp (/), which has 12000 MiB") in str(error.value)
    # Apart, each file system needs room for its own copies.
    with pytest.raises(ConfigError) as error:
        resolve({}, facts(9000, 6000, one_file_system=False))
    assert "needs 10240 MiB free on the file system of /var/tmp (/), which has 9000 MiB" in str(error.value)
    assert "/var/lib/nginx/body" not in str(error.value)
    assert resolve({"horizon_upload_max_body_size": "2g"}, facts(9000, 6000, one_file_system=False))
    # Unlimited uploads cannot be checked.
    assert resolve({"horizon_upload_max_body_size": 0}, facts(10, 10, one_file_system=True))


def test_upload_modes_and_timeouts_are_checked():
    assert resolve({}, DEBIAN).images_upload_mode == "legacy"
    with pytest.raises(ConfigError, match=r"horizon_images_upload_mode = 'browser': expected one of legacy, direct, off"):
        resolve({"horizon_images_upload_mode": "browser"}, DEBIAN)
    with pytest.raises(ConfigError, match=r"horizon_upload_timeout = 0: expected a whole number of seconds from 1 to 86400"):
        resolve({"horizon_upload_timeout": 0}, DEBIAN)


def make_theme(root, layout: str = "static/") -> None:
    for name in ("_variables.scss", "_styles.scss"):
        path = root / layout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


@pytest.mark.parametrize("layout", ["", "static/", "acme-1.0/", "acme-1.0/static/"])
def test_a_theme_is_found_at_the_top_in_static_or_in_one_top_level_directory_of_a_directory_or_archive(tmp_path, layout):
    make_theme(tmp_path / "theme", layout)
    with tarfile.open(tmp_path / "theme.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "theme", arcname=".")
    for source in (tmp_path / "theme", tmp_path / "theme.tar.gz"):
        config = resolve({"horizon_themes": json.dumps({"acme": str(source)}), "horizon_default_theme": "acme"}, DEBIAN)
        (theme,) = config.themes
        assert (theme.name, theme.label, theme.root) == ("acme", "acme", layout.removesuffix("static/"))
        assert config.default_theme == "acme"


@pytest.mark.parametrize(
    "themes, expected",
    [
        ({"acme": "/nonexistent"}, "is not readable as a directory or tar archive"),
        ({"Acme!": "THEME"}, "a theme name of lower-case letters"),
        ({"material": "THEME"}, "names other than Horizon's own themes (material is one)"),
        ({"acme": {"label": "ACME"}}, 'or to {"label": ..., "source": ...}'),
        ({"acme": "EMPTY"}, "a theme's _variables.scss and _styles.scss in"),
    ],
)
def test_a_theme_that_cannot_be_used_is_refused_naming_it(tmp_path, themes, expected):
    make_theme(tmp_path / "theme")
    (tmp_path / "empty").mkdir()
    text = json.dumps(themes).replace("THEME", str(tmp_path / "theme")).replace("EMPTY", str(tmp_path / "empty"))
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_themes": text}, DEBIAN)
    assert "horizon_themes = " in str(error.value) and expected in str(error.value)


def test_the_default_theme_must_be_one_offered_and_offered_themes_must_exist():
    with pytest.raises(ConfigError, match="horizon_default_theme = 'acme': expected one of the themes offered"):
        resolve({"horizon_default_theme": "acme"}, DEBIAN)
    with pytest.raises(ConfigError, match="horizon_selectable_themes names acme, which is neither Horizon's"):
        resolve({"horizon_selectable_themes": "default,acme"}, DEBIAN)
    with pytest.raises(ConfigError, match="horizon_default_theme = 'material': expected one of the themes offered \\(default\\)"):
        resolve({"horizon_selectable_themes": "default", "horizon_default_theme": "material"}, DEBIAN)


def test_logos_must_be_svg_and_the_icon_ico_or_png(tmp_path):
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ConfigError, match=f"horizon_logo = '{png}': expected a readable local SVG file"):
        resolve({"horizon_logo": str(png)}, DEBIAN)
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    config = resolve({"horizon_logo": str(svg), "horizon_favicon": str(png)}, DEBIAN)
    assert (config.logo, config.favicon) == (str(svg), str(png))
    with pytest.raises(ConfigError, match="horizon_favicon = .*: expected a readable local ICO or PNG file"):
        resolve({"horizon_favicon": str(svg)}, DEBIAN)


def test_websso_mapping_and_initial_choice_must_name_offered_choices():
    with pytest.raises(ConfigError) as error:
        resolve({"horizon_websso_choices": {"oidc": "OpenID Connect"}, "horizon_websso_idp_mapping": {"acme": ["idp", "saml2"]}}, DEBIAN)
    assert "horizon_websso_idp_mapping maps acme, which horizon_websso_choices does not offer" in str(error.value)
    assert "horizon_websso_initial_choice = 'credentials': expected one of horizon_websso_choices (oidc)" in str(error.value)
    expected = r"horizon_websso_idp_mapping = .*: expected a mapping of login choices to \[identity provider, protocol\]"
    with pytest.raises(ConfigError, match=expected):
        resolve({"horizon_websso_idp_mapping": '{"acme": "idp"}'}, DEBIAN)


def test_plugins_are_named_by_service_and_become_the_distributions_packages():
    config = resolve({"horizon_plugins": "heat,octavia"}, DEBIAN)
    assert config.plugins == ("python3-heat-dashboard", "python3-octavia-dashboard")
    with pytest.raises(ConfigError, match="horizon_plugins = 'heat,nova': expected plugins among blazar, .*, not nova"):
        resolve({"horizon_plugins": "heat,nova"}, DEBIAN)


def test_every_key_fills_the_configuration_field_of_its_name():
    # A key whose field is misspelt would be checked and then dropped; the extra repository's keys
    # make one field, apt_repository.
    unfilled = [
        setting.name
        for setting in SETTINGS
        if setting.name.removeprefix("horizon_") not in config_fields() and not setting.name.startswith("horizon_apt_repository_")
    ]
    assert unfilled == []


def test_the_settings_horizon_extra_settings_may_not_set_are_those_the_templates_write():
    written = "\n".join((TEMPLATES / name).read_text() for name in ("local_settings.py.j2", "horizon-settings.py.j2"))
    assert set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)(?: =|\[)", written, re.M)) - {"HORIZON_CONFIG"} == MANAGED_SETTINGS
    assert set(re.findall(r'^HORIZON_CONFIG\["(\w+)"\]', written, re.M)) == MANAGED_HORIZON_CONFIG
