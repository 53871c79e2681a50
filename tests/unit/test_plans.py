"""What the deploy plans for each platform, without a host (pyinfra's @fake connector)."""

import re

import pytest
from pyinfra.api.exceptions import PyinfraError

from operations.layout import BUILD_STATIC
from operations.settings import ConfigError
from tests.unit.planning import plan, plan_hosts


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


def test_pip_uwsgi_is_pinned_in_a_virtualenv_with_system_site_packages_and_built_as_a_wheel():
    result = plan("debian:12", horizon_uwsgi_version="2.0.30")
    assert result.ran("python3 -m venv --system-site-packages /opt/horizon-uwsgi")
    assert result.ran("/opt/horizon-uwsgi/bin/pip install --use-pep517 uwsgi==2.0.30")


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


# Ubuntu's packaging, as its debian/ directory has it (imported untouched at 3:16.1.0 in
# NeCTAR-RC/horizon, branch debian/train, commit 2d0aa8989) and as the Ubuntu charm configures
# it (openstack/charm-openstack-dashboard, hooks/horizon_utils.py). Ubuntu's archive cannot be
# reached from the machines this is tested on, so these facts are the plan's inputs.
UBUNTU_DROPIN = "/usr/lib/python3/dist-packages/openstack_dashboard/local/local_settings.d/_9000_nginx_uwsgi.py"
DEBIAN_DROPIN = "/etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py"


@pytest.mark.parametrize("platform", ["ubuntu:22.04", "ubuntu:24.04"])
def test_ubuntu_gets_its_settings_drop_in_where_ubuntus_horizon_reads_it(platform):
    # Upstream settings.py reads ROOT_PATH/local/local_settings.d; Ubuntu's debian/rules links
    # only local_settings.py into /etc (`ln -fs /etc/openstack-dashboard/local_settings.py
    # .../openstack_dashboard/local/local_settings.py`), and the charm's LOCAL_DIR is
    # os.path.join(DASHBOARD_PKG_DIR, 'local/local_settings.d'). A drop-in under /etc is never
    # read there: no ALLOWED_HOSTS, every page 400 under Ubuntu's WEBROOT /horizon/.
    result = plan(platform)
    assert UBUNTU_DROPIN in result.uploads
    assert not [path for path in result.uploads if path.startswith("/etc/openstack-dashboard/local_settings.d/")]
    assert result.ran("find /usr/lib/python3/dist-packages/openstack_dashboard/local/local_settings.d -name '*.py'")
    assert DEBIAN_DROPIN in plan("debian:12").uploads


@pytest.mark.parametrize("platform", ["ubuntu:22.04", "ubuntu:24.04"])
def test_ubuntu_installs_apache2_with_the_dashboard_and_masks_it_first(platform):
    # debian/control: openstack-dashboard Depends `apache2 | httpd`, `libapache2-mod-wsgi-py3`;
    # debian/openstack-dashboard.postinst sources apache2-maintscript-helper only if it exists,
    # then calls `apache2_invoke enconf $CONF || exit $?` unguarded. NGINX Provides httpd, so apt
    # may leave apache2 (which ships the helper) out and the postinst fail: it is asked for.
    commands = plan(platform).commands
    install = next(i for i, c in enumerate(commands) if "install" in c and "openstack-dashboard" in c)
    assert " apache2 " in f"{commands[install]} "
    assert commands.index("ln -s /dev/null /etc/systemd/system/apache2.service") < install
    debian = next(c for c in plan("debian:12").commands if "install" in c and "openstack-dashboard" in c)
    assert " apache2" not in debian


@pytest.mark.parametrize("platform", ["ubuntu:22.04", "ubuntu:24.04"])
def test_ubuntu_static_builds_by_the_package_are_noticed_and_redone_by_the_next_run(platform):
    # debian/openstack-dashboard.postinst, on every configure (install and upgrade): `rm -rf
    # /var/lib/openstack-dashboard/static/`, `python3 manage.py collectstatic`, `python3
    # manage.py compress --force`, with no guard Debian's dpkg-statoverride could hold. The
    # deploy cannot stop it; the package's file list, rewritten by dpkg, marks the build stale.
    result = plan(platform)
    assert not result.ran("dpkg-statoverride")
    assert result.ran("/var/lib/dpkg/info/openstack-dashboard.list") and result.ran("-newer /var/lib/horizon-deploy/static-files")
    assert plan("debian:12").ran("dpkg-statoverride --update --add root root 644 /usr/share/openstack-dashboard/manage.py")


def test_ubuntu_offers_its_own_theme_first_and_makes_it_the_default():
    # debian/patches/ubuntu_settings.patch: AVAILABLE_THEMES gets ('ubuntu', 'Ubuntu',
    # 'themes/ubuntu') first and DEFAULT_THEME = 'ubuntu'; python3-django-horizon ships it.
    assert 'DEFAULT_THEME = "ubuntu"' in plan("ubuntu:24.04").uploads[UBUNTU_DROPIN]
    assert 'DEFAULT_THEME = "default"' in plan("debian:12").uploads[DEBIAN_DROPIN]
    chosen = plan("ubuntu:24.04", horizon_default_theme="material", horizon_selectable_themes="ubuntu,material")
    assert 'DEFAULT_THEME = "material"' in chosen.uploads[UBUNTU_DROPIN]
    with pytest.raises(ConfigError, match=r"horizon_default_theme = 'ubuntu': expected one of the themes offered \(default, material\)"):
        plan("debian:12", horizon_default_theme="ubuntu")


def test_an_operators_theme_cannot_take_the_name_of_ubuntus_own(tmp_path):
    theme = tmp_path / "ubuntu"
    theme.mkdir()
    for name in ("_variables.scss", "_styles.scss"):
        (theme / name).write_text("")
    with pytest.raises(ConfigError, match="horizon_themes names ubuntu, one of Horizon's own themes on Ubuntu 24.04"):
        plan("ubuntu:24.04", horizon_themes=f'{{"ubuntu": "{theme}"}}')
    assert 'AVAILABLE_THEMES' in plan("debian:12", horizon_themes=f'{{"ubuntu": "{theme}"}}').uploads[DEBIAN_DROPIN]


def test_every_run_ends_with_the_site_check_and_fails_when_it_does():
    result = plan("debian:12")
    assert result.commands[-1] == '/usr/local/sbin/horizon-check-site 2>&1; echo "exit $?"'
    refusal = "the site does not serve this run's configuration: Horizon does not read /etc/x.py\nexit 1"
    with pytest.raises(PyinfraError, match="^the site does not serve this run's configuration: Horizon does not read /etc/x.py$"):
        plan("debian:12", site_check=refusal)


SERVICE_UNITS = ("memcached.service", "memcached-replica.service", "horizon.service", "nginx.service")
# pyinfra's fact of each service's state: running, so that a run restarts or reloads it.
RUNNING = {
    **{f"--property SubState {unit}": [f"Id={unit}", "SubState=running"] for unit in SERVICE_UNITS},
    # The site check at the end of the run.
    "horizon-check-site 2>&1": ["exit 0"],
}
FLEET = {"horizon_secret_key": "s" * 40, "horizon_server_name": "dash.example.com"}
DRAIN = "touch /run/horizon-draining && sleep 6"
UNDRAIN = "rm -f /run/horizon-draining && sleep 6"
REFILL = "/usr/bin/python3 /usr/local/lib/horizon-deploy/horizon_deploy.py refill"


def rolled_out(commands: list[str]) -> list[str]:
    """The roll-out's own commands, in order: draining, restarts, refills and reloads, the site check."""
    own = (
        "touch /run/horizon-draining", "rm -f /run/horizon-draining", "systemctl daemon-reload && systemctl restart", "systemctl reload",
        REFILL,
    )
    return [c for c in commands if c.startswith(own) or c == "/usr/local/sbin/horizon-check-site"]


def test_each_host_of_a_fleet_is_drained_changed_checked_and_put_back():
    plans, failure = plan_hosts("debian:12", {"@fake/dash1": RUNNING, "@fake/dash2": RUNNING}, **FLEET)
    assert failure is None
    for plan_of_host in plans.values():
        own = plan_of_host.uploads["/etc/memcached.conf"].split("\n-l ")[1].split()[0]
        assert rolled_out(plan_of_host.commands) == [
            DRAIN,
            "systemctl daemon-reload && systemctl restart memcached",
            # Given back, from the other host, the sessions it keeps a copy of.
            f"{REFILL} {own}:11211 dash1:11211 dash2:11211",
            "systemctl daemon-reload && systemctl restart horizon",
            "systemctl reload nginx",
            "/usr/local/sbin/horizon-check-site",
            UNDRAIN,
        ]


def test_a_host_that_fails_its_check_stays_drained_and_the_hosts_after_it_are_left_alone():
    # Both would fail; pyinfra picks which goes first.
    failing = {**RUNNING, re.compile(r"^/usr/local/sbin/horizon-check-site$"): {"success": False}}
    plans, failure = plan_hosts("debian:12", {"@fake/dash1": failing, "@fake/dash2": failing}, **FLEET)
    stopped = re.match(r"roll-out stopped: (\S+) failed its roll-out in this run; (\S+) and the hosts after it", str(failure))
    first, second = stopped.groups()
    assert {first, second} == {"@fake/dash1", "@fake/dash2"}
    assert rolled_out(plans[first].commands)[-1] == "/usr/local/sbin/horizon-check-site", "left drained"
    assert rolled_out(plans[second].commands) == [], "nothing applied after a failed host"


def test_a_single_host_is_not_drained():
    plans, failure = plan_hosts("debian:12", {"@fake/target": RUNNING})
    assert failure is None
    assert not [c for c in rolled_out(plans["@fake/target"].commands) if "horizon-draining" in c]


def test_a_host_left_drained_by_a_failed_run_is_put_back_once_its_check_passes():
    left_drained = {**RUNNING, "echo left-drained": ["left-drained"]}
    plans, failure = plan_hosts("debian:12", {"@fake/target": left_drained})
    assert failure is None
    assert rolled_out(plans["@fake/target"].commands)[-2:] == ["/usr/local/sbin/horizon-check-site", "rm -f /run/horizon-draining"]


def test_a_host_alone_restarts_its_two_memcached_one_after_the_other_each_given_back_its_sessions_by_the_other():
    plans, failure = plan_hosts("debian:12", {"@fake/target": RUNNING})
    assert failure is None
    result = plans["@fake/target"]
    assert rolled_out(result.commands) == [
        "systemctl daemon-reload && systemctl restart memcached",
        f"{REFILL} 127.0.0.1:11211 127.0.0.1:11211 127.0.0.1:11212",
        "systemctl daemon-reload && systemctl restart memcached-replica",
        f"{REFILL} 127.0.0.1:11212 127.0.0.1:11211 127.0.0.1:11212",
        "systemctl daemon-reload && systemctl restart horizon",
        "systemctl reload nginx",
        "/usr/local/sbin/horizon-check-site",
    ]
    assert "-p 11212" in result.uploads["/etc/memcached-replica.conf"].splitlines()
    assert "ExecStart=/usr/share/memcached/scripts/systemd-memcached-wrapper /etc/memcached-replica.conf" in result.uploads[
        "/etc/systemd/system/memcached-replica.service"
    ].splitlines()


def test_a_host_joining_a_fleet_stops_its_second_memcached_and_drops_its_files():
    replica = ("/etc/systemd/system/memcached-replica.service", "/etc/memcached-replica.conf")
    was_alone = {
        **RUNNING,
        "| sed 's/^/memcached /'": [f"memcached {path}" for path in replica],
        # pyinfra's own look at each file before removing it.
        **{f"test -e {path} ||": [f"user=root group=root mode=-rw-r--r-- atime=0 mtime=0 ctime=0 size=1 '{path}'"] for path in replica},
    }
    plans, failure = plan_hosts("debian:12", {"@fake/dash1": was_alone, "@fake/dash2": RUNNING}, **FLEET)
    assert failure is None
    commands = plans["@fake/dash1"].commands
    stopped = commands.index("systemctl stop memcached-replica.service")
    assert [commands.index(f"rm -f {path}") for path in replica] > [stopped, stopped]
    others = plans["@fake/dash2"].commands
    assert "systemctl stop memcached-replica.service" not in others and not {f"rm -f {path}" for path in replica} & set(others)
    assert not [c for c in rolled_out(commands) if "memcached-replica" in c]


def test_horizon_restarts_or_reloads_only_once_no_image_upload_is_streaming_to_glance_in_the_legacy_mode():
    def before_horizon(**data) -> list[str]:
        plans, failure = plan_hosts("debian:12", {"@fake/target": RUNNING}, **data)
        assert failure is None
        commands = plans["@fake/target"].commands
        restart = commands.index("systemctl daemon-reload && systemctl restart horizon")
        return [c for c in commands[:restart] if "horizon_upload_timeout" in c]

    (wait,) = before_horizon(horizon_upload_timeout=90)
    assert "find /proc/[0-9]*/fd -lname '*.upload*'" in wait and "horizon_upload_timeout (90 s)" in wait
    assert before_horizon(horizon_images_upload_mode="direct") == []
