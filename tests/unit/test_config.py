"""Host data is coerced from the command line's strings and refused, key by key, when wrong."""

import pytest

from operations.config import ConfigError, HostFacts, resolve
from operations.defaults import DEFAULTS

DEBIAN = HostFacts(os_id="debian", os_version="12", fqdn="dash.example.com", cpus=3)


def test_defaults_resolve_to_a_working_configuration():
    config = resolve({}, DEBIAN)
    assert config.server_name == "dash.example.com"
    assert config.allowed_hosts == ("dash.example.com",)
    assert config.uwsgi_processes == 6
    assert config.openstack_release == "zed"
    assert config.memcached_servers == ("127.0.0.1:11211",)
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
    ],
)
def test_bad_value_is_refused_with_key_value_and_expectation(key, value, expected):
    with pytest.raises(ConfigError) as error:
        resolve({key: value}, DEBIAN)
    message = str(error.value)
    assert f"{key} = {value!r}" in message
    assert expected in message


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
    with pytest.raises(ConfigError, match="horizon_apt_repository_url is set but horizon_apt_repository_suite, horizon_apt_repository_key is not"):
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
