"""What operators run beside the dashboard itself: the health check load balancers probe, log
rotation and level, policy overrides."""

from __future__ import annotations

import json
import time

import pytest

from lab.identity import ADMIN
from tests.integration.conftest import describe
from tests.integration.dashboard import PROJECTS, title

IDENTITY_OVERRIDES = "/etc/openstack-dashboard/policy-overrides/identity/horizon-deploy.yaml"
ROLES_PANEL = 'href="/identity/roles/"'


@pytest.fixture
def target(fresh):
    return fresh[0]


def access_log_lines(target) -> int:
    return int(target.host.check_output("wc -l < /var/log/nginx/access.log"))


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

    back = target.deploy()
    assert back.returncode == 0, describe(back)
    assert not target.host.file(IDENTITY_OVERRIDES).exists
    assert ROLES_PANEL in target.user().login(ADMIN, ready_keystone.admin_password).text
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)
