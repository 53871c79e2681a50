"""Two dashboard hosts and an HAProxy load balancer from one inventory, deployed in one pyinfra
run: users log in through the load balancer and stay logged in whichever host answers."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

import pytest

from lab import targets
from lab.identity import ADMIN, provide_prometheus
from operations.layout import HAPROXY_METRICS_PORT
from operations.settings.resolve import backend_name
from tests.integration.conftest import Target, compiled_css, deploy_data, describe, make_certificate
from tests.integration.dashboard import (
    DASHBOARD_VERSION,
    HAND_EDITED_UNIT,
    LOGIN_PAGE,
    PROJECTS,
    DashboardUser,
    dashboard_package_upgraded_to,
    theme_made_default,
    title,
)
from tests.integration.prometheus import Prometheus
from tests.integration.traffic import READING_SECONDS, RotationWatch, Traffic

# The shared secret comes from the environment, as the README recommends (a vault would do); the
# certificate is the operator's own, the same on every node, since TLS passes through HAProxy.
# Through HAProxy every login comes from its address, and these tests log in again and again
# for minutes: the login rate is raised, as the README tells operators of such a setup to.
INVENTORY = """
import os

shared = {{
    "horizon_secret_key": os.environ["HORIZON_TEST_SECRET_KEY"],
    "horizon_tls_certificate": "{certificate}",
    "horizon_tls_key": "{key}",
    "horizon_login_rate": 600,
}}
horizon = [{nodes}]
# HAProxy's metrics on the load balancer's address on the lab's network, where Prometheus is.
horizon_loadbalancers = [("@docker/{balancer}", {{"horizon_metrics_listen": "{balancer_address}"}})]
"""


class Fleet(NamedTuple):
    node1: Target
    node2: Target
    balancer: Target
    runs: list[targets.DeployRun]
    # Runs the deploy against the whole fleet again, with extra data.
    deploy: Callable[..., targets.DeployRun]
    # A fresh host, and the run that adds it to the fleet's inventory.
    newcomer: Target
    join: Callable[[], targets.DeployRun]


@pytest.fixture(scope="module")
def fleet(target_factory, tmp_path_factory, keystone):
    node1, node2, node3, balancer = (target_factory(name, "debian:12") for name in ("node1", "node2", "node3", "lb"))
    directory = tmp_path_factory.mktemp("fleet")
    certificate, key = make_certificate(directory)
    for target in (node1, node2, node3, balancer):
        target.certificate = str(certificate)
    inventories = {}
    for name, nodes in (("inventory.py", (node1, node2)), ("joined.py", (node1, node2, node3))):
        inventories[name] = directory / name
        inventories[name].write_text(
            INVENTORY.format(
                nodes=", ".join(f'("@docker/{node.name}", shared)' for node in nodes),
                balancer=balancer.name,
                balancer_address=targets.address(balancer.name),
                certificate=certificate,
                key=key,
            )
        )
    env = {"HORIZON_TEST_SECRET_KEY": secrets.token_urlsafe(48)}

    def deploy(*data: str, inventory: str = "inventory.py") -> targets.DeployRun:
        return targets.run_deploy(*deploy_data(keystone), *data, inventory=str(inventories[inventory]), env=env)

    runs = [deploy() for _ in range(2)]
    # HAProxy may have finished before the dashboards and marked them down: they are back after
    # two good health checks, two seconds apart.
    balancer.wait_for("/auth/login/", within=30)
    return Fleet(node1, node2, balancer, runs, deploy, node3, lambda: deploy(inventory="joined.py"))


def haproxy_name(node: Target) -> str:
    """What HAProxy calls ``node``, named in the inventory as ``@docker/NAME``."""
    return backend_name(f"@docker/{node.name}")


def logged_in(target, keystone) -> DashboardUser:
    user = target.user()
    page = user.login(ADMIN, keystone.admin_password)
    assert title(page.text) == PROJECTS, page.status_code
    return user


def logins_until_one_sticks(balancer, keystone, within: float = 60) -> tuple[DashboardUser, list]:
    """Log in through the load balancer, then use the session, until a session survives six pages.

    Each uWSGI worker leaves a memcached that failed alone for a while (Horizon's cache, for a
    minute); a login must stick all the same. Returns the user whose session stuck, and every
    page seen, to be checked.
    """
    pages = []
    deadline = time.monotonic() + within
    while True:
        user = balancer.user()
        pages.append(user.login(ADMIN, keystone.admin_password))
        pages += [user.get("identity/") for _ in range(6)]
        if all(title(page.text) == PROJECTS for page in pages[-7:]) or time.monotonic() > deadline:
            return user, pages


def assert_no_error_page_and_the_last_login_stuck(pages: list) -> None:
    assert {page.status_code for page in pages} == {200}
    assert {title(page.text) for page in pages} <= {PROJECTS, LOGIN_PAGE}
    assert all(title(page.text) == PROJECTS for page in pages[-7:]), "no login stuck within a minute"


def test_fleet_deploys_in_one_run_and_a_second_run_changes_nothing(fleet):
    first, second = fleet.runs
    assert first.returncode == 0, describe(first)
    assert second.returncode == 0 and second.changed == 0, describe(second)


def test_every_node_lists_both_memcached_and_its_own_listens_on_its_address_only(fleet):
    for node in (fleet.node1, fleet.node2):
        listeners = node.host.check_output("ss -Htln 'sport = :11211'")
        own_address = node.host.check_output(f"getent hosts {node.name}").split()[0]
        assert listeners.split()[3] == f"{own_address}:11211", listeners
        settings = node.host.file("/etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py").content_string
        assert f'"LOCATION": ["{fleet.node1.name}:11211", "{fleet.node2.name}:11211"]' in settings


def test_a_user_logs_in_through_the_load_balancer(fleet, ready_keystone):
    page = logged_in(fleet.balancer, ready_keystone).get("identity/")
    assert title(page.text) == PROJECTS
    assert page.headers["Server"].startswith("nginx")


def test_a_session_made_on_one_node_works_on_the_other(fleet, ready_keystone):
    user = logged_in(fleet.node1, ready_keystone)
    page = user.get(fleet.node2.url + "identity/")
    assert (page.url, title(page.text)) == (fleet.node2.url + "identity/", PROJECTS)


def test_changes_roll_out_one_host_at_a_time_behind_the_load_balancer_failing_nothing(fleet, ready_keystone, tmp_path):
    # Through HAProxy, visitors and logged-in users (tests/integration/traffic.py) during each
    # run and 10 s after: Horizon's settings changed and a theme made the default (a reload and
    # a static build whose stylesheets have new names: a page from the host not yet changed
    # names the old ones, which the changed host still serves from its previous build) with
    # horizon.service edited by hand on both hosts (a restart) and memcached's memory (a restart
    # of each, which the other gives back its copy of the sessions); then all back, with
    # Horizon's package upgraded on both hosts before the run (a static build and a restart).
    users = [logged_in(fleet.balancer, ready_keystone) for _ in range(2)]
    newer = f"{fleet.node1.host.check_output(DASHBOARD_VERSION)}+fleetupgrade1"
    changes = (
        (["horizon_site_branding=Rolled Out", *theme_made_default(tmp_path), "horizon_memcached_memory=96"], HAND_EDITED_UNIT),
        ([], dashboard_package_upgraded_to(newer)),
    )
    for data, edit in changes:
        masters = {}
        for node in (fleet.node1, fleet.node2):
            node.host.run_test(edit)
            masters[node.name] = node.host.check_output("systemctl show --property=MainPID --value horizon")
        assert RotationWatch(fleet.balancer.host.check_output).out_of_rotation() == set(), "both hosts in rotation to begin with"
        traffic = Traffic(fleet.balancer.url, fleet.balancer.trusted_certificate(), 2, users, READING_SECONDS)
        with RotationWatch(fleet.balancer.host.check_output) as rotation, traffic:
            run = fleet.deploy(*data)
        assert run.returncode == 0, describe(run)
        figures = traffic.figures
        assert figures.requests > 100, figures.summary()
        assert (figures.failures, figures.missing_assets, figures.logged_out) == ([], [], 0), f"{data}: {figures.summary()}"
        # Each host was drained in turn, never both at once, and both are back.
        assert len(set().union(*rotation.samples)) == 2, rotation.samples
        assert max(len(out) for out in rotation.samples) == 1, rotation.samples
        assert rotation.samples[-1] == set(), rotation.samples
        for node in (fleet.node1, fleet.node2):
            assert node.host.check_output("systemctl show --property=MainPID --value horizon") != masters[node.name], "restarted"
        themed = "#123456" in compiled_css(fleet.balancer, fleet.balancer.get("/auth/login/").body)
        assert themed == bool(data), f"{data}: the login page's stylesheets are {'' if themed else 'not '}the theme's"
    page = users[0].get("identity/")
    assert (title(page.text), "Rolled Out" not in page.text) == (PROJECTS, True)


def test_a_logged_in_user_keeps_working_when_one_nodes_dashboard_stops_and_haproxys_metrics_say_which(fleet, ready_keystone):
    address = targets.address(fleet.balancer.name)
    assert fleet.balancer.listening(HAPROXY_METRICS_PORT) == [f"{address}:{HAPROXY_METRICS_PORT}"]
    prometheus = Prometheus(provide_prometheus(ready_keystone, [f"{address}:{HAPROXY_METRICS_PORT}"]))
    active = 'haproxy_backend_active_servers{proxy="dashboards"}'
    down = 'haproxy_server_status{proxy="dashboards",state="DOWN"} == 1'
    prometheus.wait_for(f"{active} == 2")
    user = logged_in(fleet.balancer, ready_keystone)
    fleet.node1.host.run_expect([0], "systemctl stop nginx horizon")
    try:
        titles = [title(user.get("identity/").text) for _ in range(10)]
        # HAProxy's health checks take node 1 out, and its exporter names it.
        assert [json.loads(series)["server"] for series in prometheus.wait_for(down)] == [haproxy_name(fleet.node1)]
        prometheus.wait_for(f"{active} == 1")
    finally:
        fleet.node1.host.run_expect([0], "systemctl start horizon nginx")
    assert titles == [PROJECTS] * 10
    prometheus.wait_for(f"{active} == 2")
    assert prometheus.query(down) == {}


def test_losing_one_memcached_logs_nobody_out_and_logins_go_on_working(fleet, ready_keystone):
    user = logged_in(fleet.balancer, ready_keystone)
    fleet.node1.host.run_expect([0], "systemctl stop memcached")
    try:
        # Each session is kept by both hosts' memcached: the other one has it.
        pages = [user.get("identity/") for _ in range(6)]
        pages += logins_until_one_sticks(fleet.balancer, ready_keystone)[1]
    finally:
        fleet.node1.host.run_expect([0], "systemctl start memcached")
    assert [title(page.text) for page in pages[:6]] == [PROJECTS] * 6
    assert_no_error_page_and_the_last_login_stuck(pages)
    assert_no_error_page_and_the_last_login_stuck(logins_until_one_sticks(fleet.balancer, ready_keystone, within=120)[1])


def test_a_fresh_host_joins_the_fleet_under_traffic_failing_nothing_and_logging_nobody_out(fleet, ready_keystone):
    # The operator adds a fresh host to the inventory's dashboard hosts and runs the deploy, with
    # visitors and logged-in users going through HAProxy all along: the new host is installed
    # while the others serve; then each host in turn lists three memcached instead of two (a
    # session's two copies now go to two of the three: every session keeps at least one where
    # it was, see operations/runtime), and HAProxy sends users to the new host once its health
    # check answers.
    old_nodes = {haproxy_name(node) for node in (fleet.node1, fleet.node2)}
    users = [logged_in(fleet.balancer, ready_keystone) for _ in range(2)]
    traffic = Traffic(fleet.balancer.url, fleet.balancer.trusted_certificate(), 2, users, READING_SECONDS)
    with RotationWatch(fleet.balancer.host.check_output) as rotation, traffic:
        run = fleet.join()
    assert run.returncode == 0, describe(run)
    figures = traffic.figures
    assert figures.requests > 100, figures.summary()
    assert (figures.failures, figures.missing_assets, figures.logged_out) == ([], [], 0), figures.summary()
    # The hosts already serving were never out of rotation together, and all three are in it now.
    assert not any(old_nodes <= out for out in rotation.samples), rotation.samples
    assert rotation.samples[-1] == set(), rotation.samples
    # New connections go round the three hosts (the users' kept-alive ones stay where they are).
    assert [fleet.balancer.get("/auth/login/").status for _ in range(6)] == [200] * 6
    newcomer = rotation.dashboard_hosts()[haproxy_name(fleet.newcomer)]
    assert int(newcomer["stot"]) > 0, "HAProxy sent nobody to the new host"
    # A session made before the join works on the new host, and one made there on the others.
    assert title(users[0].get(fleet.newcomer.url + "identity/").text) == PROJECTS
    newcomers_user = logged_in(fleet.newcomer, ready_keystone)
    assert title(newcomers_user.get(fleet.node1.url + "identity/").text) == PROJECTS
    again = fleet.join()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_losing_a_whole_node_logs_nobody_out_never_gives_an_error_page_and_logins_work_through_the_other(fleet, ready_keystone):
    # Last in this module: node 1 stays down, its memcached with it; each session has a copy on
    # node 2's or node 3's, and the load balancer sends everyone to them.
    user, pages = logins_until_one_sticks(fleet.balancer, ready_keystone, within=120)
    targets.client().containers.get(fleet.node1.name).stop()
    after = [user.get("identity/") for _ in range(4)]
    assert [title(page.text) for page in after] == [PROJECTS] * 4, "logged out with node 1 gone"
    pages += after + logins_until_one_sticks(fleet.balancer, ready_keystone)[1]
    assert_no_error_page_and_the_last_login_stuck(pages)
