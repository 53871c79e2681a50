"""The deploy's code in Horizon (operations/runtime/horizon_deploy.py), driven here against
stand-ins for Django, Horizon and keystoneauth (host_libraries); on real hosts by the integration
tests (test_faults: lost memcached, a stuck Keystone, a stale manifest; test_deploy: the health
check)."""

from __future__ import annotations

import importlib
import types

import pytest

from tests.unit.host_libraries import CreateError, UpdateError, host_libraries

MARKER = "0123456789abcdef"


@pytest.fixture
def libraries():
    with host_libraries(HORIZON_DEPLOY_HEALTH_CHECK="healthz", HORIZON_DEPLOY_SETTINGS=MARKER) as modules:
        yield modules


@pytest.fixture
def deploy(libraries):
    return importlib.import_module("horizon_deploy")


@pytest.mark.parametrize("failure", [CreateError, UpdateError])
def test_a_session_memcached_cannot_store_leaves_the_request_to_complete(deploy, failure):
    session = deploy.SessionStore()
    session.failing = failure
    session.create()
    assert session._session_key == "key-1" and session.modified
    session.save()


def test_every_api_session_waits_the_timeout_unless_its_maker_chose_one(deploy, libraries):
    deploy.bound_api_sessions(30)
    session = libraries["keystoneauth1.session"].Session
    assert (session().timeout, session(timeout=5).timeout) == (30.0, 5)


def test_only_a_page_failing_for_want_of_a_manifest_entry_marks_the_static_files(deploy, libraries, tmp_path):
    mark = tmp_path / "static-files-failed"
    deploy.mark_static_files_failed(str(mark))
    (receiver,) = libraries["django.core.signals"].got_request_exception.receivers
    try:
        raise KeyError("another failure")
    except KeyError:
        receiver(sender=None)
    assert not mark.exists()
    try:
        raise libraries["compressor.exceptions"].OfflineGenerationError('key "abc" is missing from offline manifest')
    except Exception:
        receiver(sender=None)
    assert mark.exists()


def request(path: str, address: str):
    return types.SimpleNamespace(path_info=path, META={"REMOTE_ADDR": address})


def test_the_health_check_answers_before_anything_else_and_names_the_settings_to_this_host_only(deploy):
    passed_on = []
    check = deploy.HealthCheckMiddleware(lambda request: passed_on.append(request) or "the page")
    local, remote = check(request("/healthz", "127.0.0.1")), check(request("/healthz", "192.0.2.7"))
    assert (local.status_code, local.content, local["X-Horizon-Settings"]) == (200, "OK\n", MARKER)
    assert (remote.status_code, "X-Horizon-Settings" in remote) == (200, False)
    assert passed_on == []
    assert check(request("/auth/login/", "127.0.0.1")) == "the page"


def test_users_land_on_the_first_dashboard_their_roles_and_catalog_allow(deploy, libraries):
    def dashboard(name, needs):
        panel = types.SimpleNamespace(permissions=needs, get_absolute_url=lambda: f"/{name}/")
        return types.SimpleNamespace(default_panel="index", permissions=(), get_panel=lambda _: panel)

    horizon = libraries["horizon"]
    horizon.get_dashboards = lambda: [dashboard("project", ("openstack.services.compute",)), dashboard("identity", ())]
    horizon.get_default_dashboard = lambda: dashboard("project", ())
    without_compute = types.SimpleNamespace(has_perms=lambda needs: "openstack.services.compute" not in needs)
    with_compute = types.SimpleNamespace(has_perms=lambda needs: True)
    assert (deploy.landing_page(without_compute), deploy.landing_page(with_compute)) == ("/identity/", "/project/")
