"""A host that already serves Horizon with Apache + mod_wsgi (Debian's openstack-dashboard-apache)
is converted in place: Apache stopped, disabled and masked, NGINX + uWSGI serving instead."""

from __future__ import annotations

import pytest

from tests.integration.conftest import describe

TITLE = "<title>Login - OpenStack Dashboard</title>"
APACHE_SETUP = """
set -e
echo 'openstack-dashboard-apache horizon/activate_vhost boolean true' | debconf-set-selections
echo 'openstack-dashboard-apache horizon/use_ssl boolean false' | debconf-set-selections
apt-get update -q
# Tried again: the package's postinst compresses static files, which now and then fails on a
# pyScss thread race (Debian bug #1069097).
for attempt in 1 2 3; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openstack-dashboard-apache && break
done
"""
# What the package leaves when Horizon was served under an alias: the deploy must not keep it.
ALIAS_WEBROOT = "sed -i 's|^WEBROOT.*|WEBROOT = \"/horizon/\"|' /etc/openstack-dashboard/local_settings.d/_0005_debian_webroot.py"


@pytest.fixture(scope="module")
def converted(target_factory):
    target = target_factory("apache", "debian:12")
    target.host.run_expect([0], APACHE_SETUP)
    # Apache served plain HTTP (the package's use_ssl is off).
    served_by_apache = target.wait_for("/auth/login/", within=120, tls=False)
    target.host.run_expect([0], ALIAS_WEBROOT)
    first = target.deploy()
    second = target.deploy()
    return target, served_by_apache, first, second


def test_host_served_horizon_with_apache_before(converted):
    _, before, _, _ = converted
    assert before.status == 200 and TITLE in before.body
    assert before.headers["Server"].startswith("Apache")


def test_conversion_succeeds_and_a_second_run_changes_nothing(converted):
    _, _, first, second = converted
    assert first.returncode == 0, describe(first)
    assert second.returncode == 0 and second.changed == 0, describe(second)


def test_nginx_now_serves_horizon_at_the_configured_webroot(converted):
    target = converted[0]
    page = target.wait_for("/auth/login/")
    assert page.status == 200 and TITLE in page.body
    assert page.headers["Server"].startswith("nginx")


def test_apache_is_stopped_disabled_and_masked(converted):
    target = converted[0]
    assert not target.host.service("apache2").is_running
    assert target.host.run("systemctl is-enabled apache2").stdout.strip() == "masked"
    assert "apache" not in target.host.check_output("ss -Htlnp 'sport = :80'")
