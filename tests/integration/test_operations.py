"""What operators set beside the dashboard itself: the health check load balancers probe, log
rotation and level, policy overrides, regions, domains and branding."""

from __future__ import annotations

import json
import time

import pytest

from lab.identity import ADMIN
from tests.integration.conftest import describe
from tests.integration.dashboard import LOGIN, PROJECTS, current_region, select_options, title

IDENTITY_OVERRIDES = "/etc/openstack-dashboard/policy-overrides/identity/horizon-deploy.yaml"
ROLES_PANEL = 'href="/identity/roles/"'
API_CA = "/etc/openstack-dashboard/api-ca.pem"
SETTINGS_DROPIN = "/etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py"
CUSTOMIZATION = "/etc/openstack-dashboard/python/dashboard_operator/customization.py"
# Horizon's documented way of removing a panel, in a customisation module.
WITHOUT_ROLES_PANEL = """\
import horizon

identity = horizon.get_dashboard("identity")
identity.unregister(identity.get_panel("roles").__class__)
"""


@pytest.fixture
def target(fresh):
    return fresh[0]


def access_log_lines(target) -> int:
    return int(target.host.check_output("wc -l < /var/log/nginx/access.log"))


def back_to_the_defaults_without(target, keystone, path: str) -> None:
    """A run with the default data removes ``path``, the Roles panel is back, and a second run
    changes nothing."""
    back = target.deploy()
    assert back.returncode == 0, describe(back)
    assert not target.host.file(path).exists
    assert ROLES_PANEL in target.user().login(ADMIN, keystone.admin_password).text
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_health_check_answers_without_session_cookie_or_log_line_and_fails_with_horizon(target):
    logged = access_log_lines(target)
    response = target.get("/healthz")
    assert (response.status, response.body) == (200, "OK\n")
    assert "Set-Cookie" not in response.headers
    assert access_log_lines(target) == logged
    target.host.run_test("systemctl stop horizon")
    try:
        assert target.get("/healthz").status == 502, "Horizon is stopped: the check must say so"
    finally:
        target.host.run_test("systemctl start horizon")
    assert target.wait_for("/healthz").status == 200


def test_nginx_logs_are_rotated_and_nginx_goes_on_logging_into_the_new_file(target):
    assert target.host.service("logrotate.timer").is_enabled
    # Something to rotate: Debian's rule leaves an empty log alone (notifempty).
    assert target.get("/auth/login/").status == 200
    target.host.run_expect([0], "logrotate --force /etc/logrotate.d/nginx")
    assert target.host.file("/var/log/nginx/access.log.1").exists
    # The rotation's postrotate makes NGINX reopen its logs.
    deadline = time.monotonic() + 10
    while "GET /auth/login/" not in target.host.file("/var/log/nginx/access.log").content_string:
        assert time.monotonic() < deadline, "NGINX did not log into the new access.log"
        target.get("/auth/login/")
        time.sleep(0.5)


def test_policy_overrides_and_log_level_apply_and_removing_an_override_removes_its_file(target, ready_keystone):
    since = target.host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    # The Roles panel needs only this rule ("!": never allowed).
    overrides = json.dumps({"identity": {"identity:list_roles": "!"}})
    run = target.deploy(f"horizon_policy_overrides={overrides}", "horizon_log_level=DEBUG")
    assert run.returncode == 0, describe(run)
    overrides_file = target.host.file(IDENTITY_OVERRIDES)
    assert (overrides_file.user, overrides_file.group, overrides_file.mode) == ("root", "horizon", 0o640)
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS
    assert ROLES_PANEL not in page.text, "listing roles is forbidden: the panel is not offered"
    journal = target.host.check_output(f"journalctl -u horizon -o cat --since '{since}'")
    assert any(line.startswith("DEBUG ") for line in journal.splitlines()), "horizon_log_level=DEBUG"

    back_to_the_defaults_without(target, ready_keystone, IDENTITY_OVERRIDES)


def test_regions_domains_and_branding_reach_the_login_page_and_a_login_through_the_second_region(target, ready_keystone):
    # Two regions, both the lab's Keystone: once by name, once by address.
    address = target.host.check_output(f"getent hosts {target.keystone.name}").split()[0]
    by_address = ready_keystone.url.replace(target.keystone.name, address)
    regions = json.dumps({"Lab": ready_keystone.url, "Lab by address": by_address})
    run = target.deploy(
        f"horizon_keystone_regions={regions}",
        "horizon_keystone_multidomain=true",
        "horizon_keystone_domain_choices=Default",
        "horizon_site_branding=Example Cloud",
        "horizon_help_url=https://help.example.com/",
        f"horizon_api_ca_certificate={target.trusted_certificate()}",
    )
    assert run.returncode == 0, describe(run)
    login_page = target.user().get(LOGIN).text
    assert title(login_page) == "Login - Example Cloud"
    # Offered in the order given, by position.
    assert select_options(login_page, "region") == {"0": "Lab", "1": "Lab by address"}
    assert select_options(login_page, "domain") == {"Default": "Default"}
    page = target.user().login(ADMIN, ready_keystone.admin_password, region="1", domain="Default")
    assert title(page.text) == "Projects - Example Cloud"
    assert current_region(page.text) == "Lab by address"
    assert 'href="https://help.example.com"' in page.text, "the user menu's Help entry"
    # Keystone here speaks plain HTTP: the CA is proven placed and named, not used.
    ca = target.host.file(API_CA)
    assert (ca.user, ca.mode) == ("root", 0o644)
    assert target.django_settings("OPENSTACK_SSL_CACERT") == {"OPENSTACK_SSL_CACERT": API_CA}

    back = target.deploy()
    assert back.returncode == 0, describe(back)
    login_page = target.user().get(LOGIN).text
    assert title(login_page) == "Login - OpenStack Dashboard"
    assert select_options(login_page, "region") == {} and select_options(login_page, "domain") == {}
    assert not target.host.file(API_CA).exists
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_operators_settings_and_customisation_apply_and_a_typo_fails_the_run_with_the_site_kept(
    target, ready_keystone, tmp_path
):
    module = tmp_path / "customization.py"
    module.write_text(WITHOUT_ROLES_PANEL)
    customization = f"horizon_customization_module={module}"
    run = target.deploy('horizon_extra_settings={"SESSION_REFRESH": false}', customization)
    assert run.returncode == 0, describe(run)
    assert target.django_settings("SESSION_REFRESH") == {"SESSION_REFRESH": False}
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS
    assert ROLES_PANEL not in page.text, "the customisation module removed the Roles panel"
    installed = target.host.file(CUSTOMIZATION)
    assert (installed.user, installed.group, installed.mode) == ("root", "horizon", 0o640)

    # A typo Django finds: the run fails with its message before any restart, and the files
    # that passed the check are back, so that a restart still serves the site.
    dropin_before = target.host.file(SETTINGS_DROPIN).content_string
    module.write_text(WITHOUT_ROLES_PANEL.replace("import horizon", "import horizn"))
    broken = target.deploy('horizon_extra_settings={"SESSION_REFRESH": true}', customization)
    assert broken.returncode != 0, describe(broken)
    assert "No module named 'horizn'" in broken.stderr
    assert target.host.file(CUSTOMIZATION).content_string == WITHOUT_ROLES_PANEL
    assert target.host.file(SETTINGS_DROPIN).content_string == dropin_before
    target.host.run_test("systemctl restart horizon")
    page = target.user().login(ADMIN, ready_keystone.admin_password)
    assert title(page.text) == PROJECTS and ROLES_PANEL not in page.text

    back_to_the_defaults_without(target, ready_keystone, CUSTOMIZATION)
