"""What the deploy plans for each platform, without a host (pyinfra's @fake connector)."""

import pytest

from operations.config import ConfigError
from operations.horizon import BUILD_STATIC
from tests.unit.planning import plan


@pytest.mark.parametrize(
    ("platform", "release"),
    [("ubuntu:24.04", "gazpacho"), ("ubuntu:22.04", "caracal")],
)
def test_ubuntu_gets_the_newest_cloud_archive_by_default(platform, release):
    result = plan(platform)
    codename = "noble" if platform == "ubuntu:24.04" else "jammy"
    assert result.ran("install --no-install-recommends ubuntu-cloud-keyring")
    source = result.uploads["/etc/apt/sources.list.d/ubuntu-cloud-archive.sources"]
    assert f"Suites: {codename}-updates/{release}" in source
    assert "Signed-By: /usr/share/keyrings/ubuntu-cloud-keyring.gpg" in source
    assert not result.ran("apt-key")


def test_ubuntu_cloud_archive_is_added_before_the_packages_are_installed():
    commands = plan("ubuntu:24.04", horizon_openstack_release="epoxy").commands
    source = next(i for i, c in enumerate(commands) if "ubuntu-cloud-archive.sources" in c)
    dashboard = next(i for i, c in enumerate(commands) if "install" in c and "openstack-dashboard" in c)
    assert source < dashboard
    assert "apt-get update" in commands[source:dashboard]


def test_ubuntu_own_release_needs_no_cloud_archive():
    result = plan("ubuntu:24.04", horizon_openstack_release="caracal")
    assert "/etc/apt/sources.list.d/ubuntu-cloud-archive.sources" not in result.uploads
    assert not result.ran("ubuntu-cloud-keyring")


def test_ubuntu_release_without_cloud_archive_is_refused_before_anything_runs():
    with pytest.raises(ConfigError, match="horizon_openstack_release = 'gazpacho'.*Ubuntu 22.04: yoga, zed"):
        plan("ubuntu:22.04", horizon_openstack_release="gazpacho")


@pytest.mark.parametrize("platform", ["debian:12", "debian:13"])
def test_debian_uses_its_own_packages_and_no_extra_repository(platform):
    result = plan(platform)
    assert not result.uploads.get("/etc/apt/sources.list.d/ubuntu-cloud-archive.sources")
    assert not result.ran("ubuntu-cloud-keyring")
    assert result.ran("install --no-install-recommends nginx memcached openstack-dashboard python3-pymemcache")


@pytest.mark.parametrize("platform", ["debian:12", "ubuntu:24.04"])
def test_apache_is_masked_before_any_package_can_start_it(platform):
    commands = plan(platform).commands
    mask = commands.index("ln -s /dev/null /etc/systemd/system/apache2.service")
    install = next(i for i, c in enumerate(commands) if "install" in c and "openstack-dashboard" in c)
    assert mask < install


@pytest.mark.parametrize("platform", ["debian:13", "ubuntu:24.04"])
def test_plugins_are_installed_with_horizon_and_none_is_purged_on_a_fresh_host(platform):
    result = plan(platform, horizon_plugins="heat,octavia")
    install = next(command for command in result.commands if "install" in command and "openstack-dashboard" in command)
    assert install.endswith("python3-heat-dashboard python3-octavia-dashboard")
    assert not result.ran("purge")


def test_plugins_from_pypi_go_into_uwsgis_virtualenv_and_horizon_runs_its_commands_there():
    result = plan("ubuntu:24.04", horizon_pip_plugins="heat-dashboard==13.0.0")
    # Never a Horizon or Django of pip's own: the distribution's are constraints.
    assert result.ran("/usr/local/sbin/horizon-pip-plugins constraints")
    assert result.ran('/opt/horizon-uwsgi/bin/pip install --constraint "$constraints" heat-dashboard==13.0.0')
    assert result.ran("/usr/local/sbin/horizon-pip-plugins link heat-dashboard")
    assert result.ran(BUILD_STATIC)
    assert "/opt/horizon-uwsgi/bin/python3 /usr/share/openstack-dashboard/manage.py collectstatic" in result.uploads[BUILD_STATIC]


def test_sessions_in_a_database_bring_its_driver_the_session_table_and_the_cleanup_timer():
    result = plan("debian:12", horizon_session_engine="db", horizon_database_host="db.example.com",
                  horizon_database_password="s3cret")
    assert result.ran("python3-mysqldb")
    assert result.ran("manage.py migrate --noinput")
    assert result.ran("horizon-clearsessions.timer")
    assert not result.ran("s3cret")
    assert not plan("debian:12").ran("python3-mysqldb")


def test_node_less_is_not_installed():
    assert not plan("debian:12").ran("node-less")


def test_pip_uwsgi_is_pinned_in_a_virtualenv_with_system_site_packages():
    result = plan("debian:12", horizon_uwsgi_version="2.0.30")
    assert result.ran("python3 -m venv --system-site-packages /opt/horizon-uwsgi")
    assert result.ran("/opt/horizon-uwsgi/bin/pip install uwsgi==2.0.30")


def test_distro_uwsgi_installs_the_python3_plugin_and_no_compiler():
    result = plan("debian:12", horizon_uwsgi_source="distro")
    assert result.ran("uwsgi-core uwsgi-plugin-python3")
    assert not result.ran("pip install uwsgi")
    assert not result.ran(" gcc ")


def test_extra_repository_is_signed_by_the_given_key(tmp_path):
    key = tmp_path / "repo.asc"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n...\n")
    result = plan(
        "debian:12",
        horizon_apt_repository_url="http://mirror.example.com/osbpo",
        horizon_apt_repository_suite="bookworm-caracal-backports",
        horizon_apt_repository_key=str(key),
        horizon_openstack_release="caracal",
    )
    source = result.uploads["/etc/apt/sources.list.d/horizon-openstack.sources"]
    assert "URIs: http://mirror.example.com/osbpo" in source
    assert "Suites: bookworm-caracal-backports" in source
    assert "Signed-By: /etc/apt/keyrings/horizon-openstack.asc" in source


def test_unsupported_distribution_is_refused():
    with pytest.raises(ConfigError, match="unsupported distribution rocky 9.4: this deploy supports Debian 12"):
        plan("rocky:9")


def test_given_secret_key_is_uploaded_and_never_on_a_command_line():
    secret = "s3cr3t-" * 8
    result = plan("debian:12", horizon_secret_key=secret)
    assert result.uploads["/etc/openstack-dashboard/secret_key"] == secret
    assert not result.ran(secret)


def test_configuration_is_written_beside_its_file_and_renamed_over_it():
    result = plan("debian:12")
    for path, staged in (
        ("/etc/uwsgi/horizon.ini", "/etc/uwsgi/.horizon.ini.pyinfra-new"),
        ("/etc/nginx/sites-available/horizon", "/etc/nginx/sites-available/.horizon.pyinfra-new"),
    ):
        assert path in result.uploads
        assert result.ran(f"chmod 0640 {staged}") or result.ran(f"chmod 0644 {staged}")
        assert result.ran(f"mv -f {staged} {path}")
