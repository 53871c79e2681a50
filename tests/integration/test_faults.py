"""Faults a serving dashboard survives, on the shared host: dead workers and masters, a reboot,
lost sessions, hand edits undone by the next run, and re-runs that leave a serving site alone."""

from __future__ import annotations

import time

import pytest

from lab.identity import ADMIN
from tests.integration.conftest import describe
from tests.integration.dashboard import title

SERVICES = ("memcached", "horizon", "nginx")
PROJECTS = "Projects - OpenStack Dashboard"
LOGIN_PAGE = "Login - OpenStack Dashboard"
NGINX_SITE = "/etc/nginx/sites-available/horizon"
UWSGI_INI = "/etc/uwsgi/horizon.ini"


@pytest.fixture(scope="module")
def target(fresh):
    return fresh[0]


def started_at(target, service: str) -> str:
    return target.host.check_output(f"systemctl show --property=ActiveEnterTimestampMonotonic --value {service}")


def uwsgi_workers(target) -> set[str]:
    master = target.host.check_output("systemctl show --property=MainPID --value horizon")
    return set(target.host.check_output(f"pgrep -P {master} -x uwsgi || true").split())


def statuses_of(target, count: int) -> list[int]:
    return [target.get("/auth/login/").status for _ in range(count)]


def nginx_workers(target) -> str:
    return target.host.check_output("pgrep -P $(cat /run/nginx.pid) | sort")


def test_a_run_that_changes_nothing_restarts_nothing(target):
    before = {service: started_at(target, service) for service in SERVICES}
    workers = nginx_workers(target)
    run = target.deploy()
    assert run.returncode == 0 and run.changed == 0, describe(run)
    assert {service: started_at(target, service) for service in SERVICES} == before
    # A reload keeps NGINX's start time but replaces its workers.
    assert nginx_workers(target) == workers


def test_a_killed_worker_is_replaced_while_requests_keep_being_answered(target):
    workers = uwsgi_workers(target)
    victim = sorted(workers)[0]
    target.host.run_expect([0], f"kill -9 {victim}")
    assert statuses_of(target, 20) == [200] * 20
    deadline = time.monotonic() + 30
    while (replaced := uwsgi_workers(target)) == workers - {victim} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert victim not in replaced and len(replaced) == len(workers)


def test_a_killed_service_is_brought_back_by_systemd(target):
    # Both ways in one test (see tests/conftest.py): the master alone, then every process.
    for kill in ("kill -9 $(systemctl show --property=MainPID --value horizon)", "systemctl kill --signal=KILL horizon"):
        restarts = int(target.host.check_output("systemctl show --property=NRestarts --value horizon"))
        target.host.run_expect([0], kill)
        assert target.wait_for("/auth/login/", within=30).status == 200, kill
        assert int(target.host.check_output("systemctl show --property=NRestarts --value horizon")) == restarts + 1, kill


def test_losing_memcached_asks_users_to_log_in_again_and_never_errs(target, ready_keystone):
    user = target.user()
    assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS
    # A restart drops every session: the user is sent to the login page, nobody sees an error.
    target.host.run_expect([0], "systemctl restart memcached")
    page = user.get("identity/")
    assert (page.status_code, title(page.text)) == (200, LOGIN_PAGE)
    target.host.run_expect([0], "systemctl stop memcached")
    try:
        pages = [user.get("identity/"), user.login(ADMIN, ready_keystone.admin_password), target.user().get("auth/login/")]
    finally:
        target.host.run_expect([0], "systemctl start memcached")
    assert [page.status_code for page in pages] == [200] * 3
    assert {title(page.text) for page in pages} == {LOGIN_PAGE}
    # Back: each worker retries a server it marked dead after a minute.
    deadline = time.monotonic() + 120
    while title(user.login(ADMIN, ready_keystone.admin_password).text) != PROJECTS:
        assert time.monotonic() < deadline, "logins did not work again within two minutes"
        time.sleep(2)
    assert title(user.get("identity/").text) == PROJECTS


def test_hand_edits_and_stopped_services_are_put_back_by_the_next_run(target):
    site = target.host.file(NGINX_SITE).content_string
    target.host.run_expect(
        [0],
        f"echo '# edited by hand' >> {NGINX_SITE} && rm {UWSGI_INI} && systemctl unmask apache2 && systemctl stop memcached",
    )
    repair = target.deploy()
    assert repair.returncode == 0 and repair.changed > 0, describe(repair)
    assert target.host.file(NGINX_SITE).content_string == site
    assert target.host.file(UWSGI_INI).exists
    assert target.host.check_output("systemctl is-enabled apache2 || true") == "masked"
    assert all(target.host.service(service).is_running for service in SERVICES)
    assert target.wait_for("/auth/login/", within=30).status == 200
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_after_a_reboot_the_site_answers_without_anyone_logging_in(target):
    target.reboot()
    assert target.wait_for("/auth/login/", within=120).status == 200
    for service in SERVICES:
        assert target.host.service(service).is_enabled and target.host.service(service).is_running, service
