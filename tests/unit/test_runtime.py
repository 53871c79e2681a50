"""The deploy's code in Horizon (operations/runtime/horizon_deploy.py), driven here against
stand-ins for Django, Horizon and keystoneauth (host_libraries); on real hosts by the integration
tests (test_faults: lost memcached, a stuck Keystone, a stale manifest; test_deploy: the health
check)."""

from __future__ import annotations

import getpass
import importlib
import socket
import subprocess
import sys
import threading
import time
import types

import pytest

from tests.unit.host_libraries import CreateError, UpdateError, host_libraries

MARKER = "0123456789abcdef"


UPLOAD_URLS = "^/(api/glance/images/$|api/swift/containers/[^/]+/object/)"


@pytest.fixture
def libraries():
    with host_libraries(
        HORIZON_DEPLOY_HEALTH_CHECK="healthz",
        HORIZON_DEPLOY_SETTINGS=MARKER,
        HORIZON_DEPLOY_REQUEST_TIME_LIMITS=(60, UPLOAD_URLS, 600),
    ) as modules:
        yield modules


@pytest.fixture
def uwsgi(monkeypatch):
    """uWSGI's module as its workers see it: the user harakiri each call set, and the exit hook."""
    module = types.ModuleType("uwsgi")
    module.limits = []
    module.set_user_harakiri = module.limits.append
    monkeypatch.setitem(sys.modules, "uwsgi", module)
    return module


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


class Memcached:
    """A memcached server as pymemcache's client sees it: values by key; ``down`` makes every
    call fail as a refused connection does."""

    def __init__(self):
        self.values, self.down, self.calls, self.fail_once = {}, False, 0, False

    def _reached(self):
        self.calls += 1
        if self.down or self.fail_once:
            self.fail_once = False
            raise ConnectionRefusedError

    def get(self, key):
        self._reached()
        return self.values.get(key)

    def set(self, key, value, expire, noreply):
        self._reached()
        self.values[key] = value
        return True

    def add(self, key, value, expire, noreply):
        self._reached()
        return self.values.setdefault(key, value) is value

    def delete(self, key, noreply):
        self._reached()
        return self.values.pop(key, None) is not None


SERVERS = [f"10.0.0.{n}:11211" for n in range(1, 5)]
KEYS = [f"horizon-sessions:23:django.contrib.sessions.cache{n:032x}" for n in range(2000)]


def test_a_server_joining_or_leaving_leaves_every_session_one_of_the_servers_it_was_on(deploy):
    for before, after in ((SERVERS[:2], SERVERS[:3]), (SERVERS[:3], SERVERS[:4]), (SERVERS[:4], SERVERS[:3])):
        for key in KEYS:
            assert set(deploy.session_servers(before, key)) & set(deploy.session_servers(after, key)), (before, after, key)


def test_sessions_spread_over_every_server_two_copies_each(deploy):
    placed = [deploy.session_servers(SERVERS, key) for key in KEYS]
    assert {len(set(servers)) for servers in placed} == {2}
    for server in SERVERS:
        # Each of 4 servers keeps half the sessions, give or take.
        assert 0.4 < sum(server in servers for servers in placed) / len(KEYS) < 0.6, server


def copies(deploy, servers):
    memcached = {server: Memcached() for server in servers}
    return deploy.SessionCopies(memcached, (OSError,)), memcached


def test_a_session_is_written_to_both_its_servers_and_read_while_either_is_down(deploy):
    sessions, memcached = copies(deploy, SERVERS[:2])
    assert sessions.add(KEYS[0], {"token": "a"}) and sessions.set(KEYS[0], {"token": "b"})
    assert [server.values for server in memcached.values()] == [{KEYS[0]: {"token": "b"}}] * 2
    for down in memcached.values():
        down.down = True
        assert sessions.get(KEYS[0]) == {"token": "b"}
        down.down = False
        sessions.down_until = dict.fromkeys(SERVERS[:2], 0.0)
    assert sessions.delete(KEYS[0]) and sessions.get(KEYS[0], "gone") == "gone"
    assert [server.values for server in memcached.values()] == [{KEYS[0]: deploy.DELETED}] * 2


def test_a_read_gives_a_server_that_lost_a_session_its_copy_back(deploy):
    sessions, memcached = copies(deploy, SERVERS[:2])
    sessions.set(KEYS[0], {"token": "a"})
    # Whichever the read asks first.
    for restarted in memcached.values():
        restarted.values.clear()
        assert sessions.get(KEYS[0]) == {"token": "a"} and restarted.values == {KEYS[0]: {"token": "a"}}


def test_a_session_deleted_while_one_of_its_servers_was_down_stays_deleted(deploy, monkeypatch):
    sessions, memcached = copies(deploy, SERVERS[:2])
    sessions.set(KEYS[0], {"token": "a"})
    skipped = memcached[SERVERS[0]]
    skipped.down = True
    assert sessions.delete(KEYS[0])
    skipped.down = False
    sessions.down_until = dict.fromkeys(SERVERS[:2], 0.0)
    assert skipped.values[KEYS[0]] == {"token": "a"}, "kept by the server skipped"
    assert sessions.get(KEYS[0], "gone") == "gone"
    assert skipped.values[KEYS[0]] == deploy.DELETED


def test_a_server_failing_once_is_asked_again_on_a_new_connection(deploy):
    sessions, memcached = copies(deploy, SERVERS[:2])
    sessions.set(KEYS[0], "v")
    restarted = memcached[SERVERS[0]]
    restarted.fail_once = True
    assert sessions.get(KEYS[0]) == "v" and sessions.failures == dict.fromkeys(SERVERS[:2], 0)


def test_a_server_that_fails_is_left_alone_for_a_second_then_longer_each_time_it_fails_again(deploy, monkeypatch):
    sessions, memcached = copies(deploy, SERVERS[:2])
    down = memcached[deploy.session_servers(SERVERS[:2], KEYS[0])[0]]
    down.down = True
    now = [1000.0]
    monkeypatch.setattr(deploy.time, "monotonic", lambda: now[0])
    asked = []
    for step in (0, 0.5, 0.6, 1.0, 2.0, 3.0, 1.1):
        now[0] += step
        before = down.calls
        sessions.set(KEYS[0], "v")
        asked.append(down.calls - before)
    # Asked at once (twice: once more on a new connection); failing, again 1 s later, then 2 s,
    # then 4 s.
    assert asked == [2, 0, 2, 0, 2, 0, 2]
    down.down = False
    now[0] += 30
    sessions.set(KEYS[0], "v")
    assert sessions.failures == dict.fromkeys(SERVERS[:2], 0)


@pytest.fixture
def memcached_servers():
    """Three real memcached servers on the loopback (Debian's, as on the hosts), and the address
    of a fourth that is down."""
    servers, started = [], []
    for _ in range(4):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            servers.append(f"127.0.0.1:{probe.getsockname()[1]}")
    for server in servers[:3]:
        command = ["memcached", "-l", "127.0.0.1", "-p", server.rpartition(":")[2], "-U", "0", "-u", getpass.getuser()]
        started.append(subprocess.Popen(command))
    for server in servers[:3]:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(server.rpartition(":")[2])), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"memcached on {server} did not start"
                time.sleep(0.05)
    yield servers
    for process in started:
        process.kill()
        process.wait()


def test_a_restarted_memcached_gets_back_the_sessions_it_keeps_with_their_expiry_and_no_newer_copy_replaced(
    deploy, memcached_servers, monkeypatch
):
    into, peer, down = memcached_servers[0], memcached_servers[1], memcached_servers[3]
    servers = memcached_servers
    expires = int(time.time()) + 3600
    for key in KEYS[:200]:
        for server in set(deploy.session_servers(servers, key)) - {into, down}:
            assert deploy.Memcached(server).add(key, 1, expires, b"copy of " + key.encode())
    deploy.Memcached(peer).add("another-application:1", 0, expires, b"not a session")
    # Those whose other copy is on a live server; the down one's cannot be given.
    kept = [key for key in KEYS[:200] if into in deploy.session_servers(servers, key) and down not in deploy.session_servers(servers, key)]
    # Written by a worker since the restart: newer than any copy.
    deploy.Memcached(into).add(kept[0], 1, expires, b"newer")
    monkeypatch.setattr(deploy.time, "sleep", lambda seconds: None)

    assert deploy.refill(into, servers) == len(kept) - 1

    target = deploy.Memcached(into)
    assert sorted(target.keys("")) == sorted((key, expires) for key in kept)
    assert target.get(kept[0]) == (1, b"newer")
    assert target.get(kept[1]) == (1, b"copy of " + kept[1].encode())


def test_a_first_deploy_refills_without_waiting_for_the_workers(deploy, memcached_servers, monkeypatch):
    waited = []
    monkeypatch.setattr(deploy.time, "sleep", waited.append)
    assert deploy.refill(memcached_servers[0], memcached_servers) == 0
    assert waited == []


def test_each_request_sets_its_own_time_limit_and_uploads_get_theirs(deploy, uwsgi):
    limit = deploy.RequestTimeLimitMiddleware(lambda request: "the page")
    for path in ("/auth/login/", "/api/glance/images/", "/api/glance/images/abc/", "/api/swift/containers/c/object/a/b"):
        assert limit(request(path, "192.0.2.7")) == "the page"
    assert uwsgi.limits == [60, 600, 60, 600]


def test_outside_uwsgi_requests_have_no_time_limit_and_workers_no_exit_hook(deploy):
    assert deploy.RequestTimeLimitMiddleware(lambda request: "the page")(request("/", "192.0.2.7")) == "the page"
    deploy.keep_uploads_through_exit(600, ".upload")


def test_a_worker_exits_once_its_uploads_are_closed_or_its_time_is_up(deploy, uwsgi, tmp_path):
    fds = tmp_path / "fd"
    fds.mkdir()
    (fds / "3").symlink_to("/var/tmp/tmpab12cd34.upload.qcow2")
    # uWSGI's own buffer of a request body: not an upload Horizon streams.
    (fds / "4").symlink_to("/var/tmp/#1234 (deleted)")
    # One Glance has all of: Horizon removed it, the garbage collector has yet to close it.
    (fds / "6").symlink_to("/var/tmp/tmpij90kl12.upload.raw (deleted)")
    assert deploy.uploads_in_flight(".upload", str(fds)) == 1
    earlier_hook = []
    uwsgi.atexit = lambda: earlier_hook.append("ran")
    deploy.keep_uploads_through_exit(600, ".upload", str(fds))
    exiting = threading.Thread(target=uwsgi.atexit)
    exiting.start()
    exiting.join(1.5)
    assert exiting.is_alive(), "the worker exited with an upload open"
    (fds / "3").unlink()
    exiting.join(2)
    assert not exiting.is_alive() and earlier_hook == ["ran"]
    # One that is never closed holds the worker for the timeout only.
    (fds / "5").symlink_to("/var/tmp/tmpef56gh78.upload")
    del uwsgi.atexit
    deploy.keep_uploads_through_exit(1, ".upload", str(fds))
    started = time.monotonic()
    uwsgi.atexit()
    assert 1 <= time.monotonic() - started < 3
