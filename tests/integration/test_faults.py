"""Faults a serving dashboard survives, on the shared host: deploys killed midway, dead workers
and masters, a reboot, lost sessions, hand edits undone by the next run, and re-runs that leave
a serving site alone."""

from __future__ import annotations

import re
import shlex
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests

from lab.identity import ADMIN
from operations.layout import COMPRESS, MEMCACHED_PORT, MEMCACHED_REPLICA_PORT, STATIC_BUILD_VARIABLE, STATIC_BUILT, STATIC_ROOT
from tests.integration.conftest import compiled_css, describe, make_certificate
from tests.integration.dashboard import HAND_EDITED_UNIT, LOGIN_PAGE, PROJECTS, error_messages, static_asset, theme_made_default, title
from tests.integration.traffic import READING_SECONDS, Traffic

SERVICES = ("memcached", "memcached-replica", "horizon", "nginx")
# Accepts connections on 5999 and never answers.
SILENT_SERVER = """
import socket
server = socket.create_server(("0.0.0.0", 5999))
held = []
while True:
    held.append(server.accept()[0])
"""
MEMCACHED_PORTS = (MEMCACHED_PORT, MEMCACHED_REPLICA_PORT)
NGINX_SITE = "/etc/nginx/sites-available/horizon"
UWSGI_INI = "/etc/uwsgi/horizon.ini"


def steps(run) -> list[str]:
    """The operations a run changed something with, without their deploy's name."""
    return [name.rpartition(" | ")[2] for name in run.changed_operations]


def started_at(target, service: str) -> str:
    return target.host.check_output(f"systemctl show --property=ActiveEnterTimestampMonotonic --value {service}")


def uwsgi_workers(target) -> set[str]:
    master = target.host.check_output("systemctl show --property=MainPID --value horizon")
    return set(target.host.check_output(f"pgrep -P {master} -x uwsgi || true").split())


def static_files_answer(target) -> bool:
    return target.get(static_asset(target.get("/auth/login/").body)).status == 200


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


@contextmanager
def probing(target):
    """The login page requested back to back while the block runs; yields the answers (a status,
    or the error of a request that got none)."""
    answers: list = []
    done = threading.Event()

    def probe():
        while not done.is_set():
            try:
                answers.append(target.get("/auth/login/").status)
            except requests.RequestException as error:
                answers.append(repr(error))

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield answers
    finally:
        done.set()
        prober.join()


def test_changes_rolled_out_under_traffic_fail_no_request_lose_no_asset_and_log_nobody_out(target, ready_keystone, tmp_path):
    # Visitors fetching the login page and its assets and logged-in users fetching their page,
    # during each run and 10 s after (tests/integration/traffic.py; benchmarks/rollout prints the
    # same figures for the lab). Each case: what changes (data for the run, or a hand edit the
    # run undoes), how the run must apply it (and nothing harsher), what the first request after
    # the run must see. Three runs, each a sum of changes: NGINX's settings with Horizon's and a
    # theme (reloads, a static build switched in, which NGINX reloads for too); the theme
    # changed with memcached's memory (both restart); all back with horizon.service edited by
    # hand (a restart: requests wait in systemd's socket).

    def theme(colour: str) -> list[str]:
        # The operator's theme, the default one: the login page names the stylesheet compiled
        # from it, whose file name changes with its content.
        return ["horizon_site_branding=Rolled Out", *theme_made_default(tmp_path, colour)]

    def login_page_styled(colour: str) -> bool:
        return colour in compiled_css(target, target.get("/auth/login/").body)

    def back_as_deployed() -> bool:
        return "Rolled Out" not in title(target.get("/auth/login/").body) and restart_delay(target) == "2s"

    def memcached_megabytes(megabytes: int) -> bool:
        return all(memcached_setting(target, port, "maxbytes") == str(megabytes << 20) for port in MEMCACHED_PORTS)

    max_age = "horizon_static_max_age=600"
    cases = (
        ([*theme("#123456"), max_age], None, {"horizon reloaded", "nginx reloaded"},
         lambda: login_page_styled("#123456") and "max-age=600" in asset_cache_control(target)),
        # Pages rendered by the workers not yet reloaded name the first version's stylesheet,
        # which only the previous build has. memcached's memory: both restart, one after the
        # other, each given back its copy of the sessions by the other.
        ([*theme("#654321"), max_age, "horizon_memcached_memory=96"], None, {"horizon reloaded", "nginx reloaded", "memcached restarted"},
         lambda: login_page_styled("#654321") and memcached_megabytes(96)),
        ([], HAND_EDITED_UNIT, {"horizon restarted", "nginx reloaded", "memcached restarted"},
         lambda: back_as_deployed() and memcached_megabytes(64)),
    )
    users = [target.user() for _ in range(2)]
    # And one who asks for nothing meanwhile: the requests of the others give a restarted
    # memcached their sessions back; this one's comes back only by the roll-out's refill.
    idle = target.user()
    for user in (*users, idle):
        assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS
    for data, edit, expected, seen in cases:
        if edit:
            target.host.run_test(edit)
        before = serving_processes(target)
        with Traffic(target.url, target.trusted_certificate(), 2, users, READING_SECONDS) as traffic:
            run = target.deploy(*data)
            first_request_sees_it = seen()
        assert run.returncode == 0, describe(run)
        applied = applied_by(before, serving_processes(target))
        assert applied == expected, f"{data} {edit}: applied by {applied}, expected {expected}: {describe(run)}"
        figures = traffic.figures
        assert figures.requests > 100, figures.summary()
        assert (figures.failures, figures.missing_assets, figures.logged_out) == ([], [], 0), f"{expected}: {figures.summary()}"
        assert first_request_sees_it, f"the first request after the run ({expected}, {data}) did not see it"
    assert title(idle.get("identity/").text) == PROJECTS, "the idle user was logged out"


def serving_processes(target) -> dict[str, object]:
    return {
        "horizon": started_at(target, "horizon"),
        "uwsgi": uwsgi_workers(target),
        "nginx": nginx_workers(target),
        "memcached": [started_at(target, memcached) for memcached in ("memcached", "memcached-replica")],
    }


def applied_by(before: dict, after: dict) -> set[str]:
    """How a run applied its changes, as the processes show it: uWSGI's master started again
    (a restart), or the same master with new workers (a graceful reload); NGINX's new workers;
    both memcached started again."""
    applied = set()
    if after["horizon"] != before["horizon"]:
        applied.add("horizon restarted")
    elif after["uwsgi"] != before["uwsgi"]:
        applied.add("horizon reloaded")
    if after["nginx"] != before["nginx"]:
        applied.add("nginx reloaded")
    if all(started != was for started, was in zip(after["memcached"], before["memcached"], strict=True)):
        applied.add("memcached restarted")
    return applied


def memcached_setting(target, port: int, name: str) -> str:
    """A setting of the memcached on ``port``, as it runs (``stats settings``)."""
    ask = (f"import socket; s = socket.create_connection(('127.0.0.1', {port})); s.sendall(b'stats settings\\r\\nquit\\r\\n'); "
           "print(b''.join(iter(lambda: s.recv(65536), b'')).decode())")
    stats = target.host.check_output(f'python3 -c "{ask}"')
    return dict(line.split()[1:3] for line in stats.splitlines() if line.startswith("STAT "))[name]


def restart_delay(target) -> str:
    return target.host.check_output("systemctl show --property=RestartUSec --value horizon")


def asset_cache_control(target) -> str:
    return target.get(static_asset(target.get("/auth/login/").body)).headers.get("Cache-Control", "")


def test_a_configuration_nginx_refuses_never_goes_live(target, tmp_path):
    # An unknown directive from the operator, then a certificate whose key is another one's.
    certificate, _ = make_certificate(tmp_path / "one")
    _, other_key = make_certificate(tmp_path / "two")
    site = target.host.file(NGINX_SITE).content_string
    workers = nginx_workers(target)
    for data, refusal in (
        (("horizon_nginx_extra_directives=bogus_directive on;",), 'unknown directive "bogus_directive"'),
        ((f"horizon_tls_certificate={certificate}", f"horizon_tls_key={other_key}"), "key values mismatch"),
    ):
        with probing(target) as answers:
            run = target.deploy(*data)
        assert run.returncode != 0 and refusal in run.stderr, describe(run)
        assert answers and [answer for answer in answers if answer != 200] == [], data
        # Not reloaded: a reload replaces NGINX's workers.
        assert nginx_workers(target) == workers, data
        # The last good configuration is back in place: a restart serves it, and the default
        # data, which it was made from, finds nothing to change.
        assert target.host.file(NGINX_SITE).content_string == site
        target.host.run_expect([0], "systemctl restart nginx")
        workers = nginx_workers(target)
        assert target.get("/auth/login/").status == 200
        again = target.deploy()
        assert again.returncode == 0 and again.changed == 0, describe(again)


def test_a_run_killed_after_writing_configuration_leaves_the_restart_to_the_next_run(target):
    before = started_at(target, "horizon")
    killed = target.deploy_killed_when(f"grep -q '^threads = 3$' {UWSGI_INI}", "horizon_uwsgi_threads=3")
    assert killed.returncode == -9, "the run ended before it could be killed"
    assert started_at(target, "horizon") == before, "killed too late: the restart had already happened"
    # The next run writes nothing new, yet restarts uWSGI for what the killed run wrote.
    finishing = target.deploy("horizon_uwsgi_threads=3")
    assert finishing.returncode == 0, describe(finishing)
    assert started_at(target, "horizon") != before, "the next run did not restart Horizon"
    again = target.deploy("horizon_uwsgi_threads=3")
    assert again.returncode == 0 and again.changed == 0, describe(again)
    back = target.deploy()
    assert back.returncode == 0, describe(back)


def test_a_run_killed_during_static_compression_is_completed_by_the_next_run(target):
    # A new time zone changes the settings, which rebuilds the static files.
    killed = target.deploy_killed_when(
        # [c]: the pattern must not match the shell that runs pgrep or pkill.
        "pgrep -f 'horizon-[c]ompress'", "horizon_time_zone=Europe/Paris", stop_on_host="pkill -9 -f 'horizon-[c]ompress'"
    )
    assert killed.returncode == -9, "the run ended before it could be killed"
    finishing = target.deploy("horizon_time_zone=Europe/Paris")
    assert finishing.returncode == 0, describe(finishing)
    assert target.wait_for("/auth/login/", within=30).status == 200
    assert static_files_answer(target)
    again = target.deploy("horizon_time_zone=Europe/Paris")
    assert again.returncode == 0 and again.changed == 0, describe(again)
    back = target.deploy()
    assert back.returncode == 0, describe(back)


def test_a_package_install_killed_midway_is_finished_by_the_next_run(target):
    # What a run killed during its package step leaves when dpkg dies with it: the dashboard
    # package half-configured, its postinst cut short.
    target.host.run_expect(
        [0], "(DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall openstack-dashboard >/dev/null 2>&1 &)"
    )
    deadline = time.monotonic() + 120
    # [.]: the pattern must not match the shell that runs pgrep or pkill.
    while target.host.run("pgrep -f 'openstack-dashboard[.]postinst'").rc != 0:
        assert time.monotonic() < deadline, "the package's postinst never started"
        time.sleep(0.05)
    target.host.run("pkill -9 apt-get; pkill -9 dpkg; pkill -9 -f 'openstack-dashboard[.]postinst'")
    assert target.host.check_output("dpkg --audit || true"), "dpkg was left with nothing unfinished"
    finishing = target.deploy()
    assert finishing.returncode == 0, describe(finishing)
    assert target.host.check_output("dpkg --audit || true") == ""
    assert target.wait_for("/auth/login/", within=30).status == 200
    assert static_files_answer(target)
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_a_killed_worker_is_replaced_while_requests_keep_being_answered(target):
    workers = uwsgi_workers(target)
    victim = sorted(workers)[0]
    target.host.run_expect([0], f"kill -9 {victim}")
    assert statuses_of(target, 20) == [200] * 20
    # Until the master reaps it, the victim is a zombie that pgrep still lists.
    deadline = time.monotonic() + 30
    while victim in (replaced := uwsgi_workers(target)) or len(replaced) < len(workers):
        assert time.monotonic() < deadline, f"after 30 s: {replaced}, {victim} killed"
        time.sleep(0.5)


def test_a_killed_service_is_brought_back_by_systemd(target):
    # Both ways in one test (see tests/conftest.py): the master alone, then every process.
    for kill in ("kill -9 $(systemctl show --property=MainPID --value horizon)", "systemctl kill --signal=KILL horizon"):
        restarts = int(target.host.check_output("systemctl show --property=NRestarts --value horizon"))
        target.host.run_expect([0], kill)
        # Not the first 200: workers whose master was just killed may answer one more request
        # before they notice (seen in CI, NRestarts still unchanged); systemd restarts 2 s later.
        deadline = time.monotonic() + 30
        while int(target.host.check_output("systemctl show --property=NRestarts --value horizon")) == restarts:
            assert time.monotonic() < deadline, f"systemd did not restart horizon within 30 s of: {kill}"
            time.sleep(0.2)
        assert int(target.host.check_output("systemctl show --property=NRestarts --value horizon")) == restarts + 1, kill
        assert target.wait_for("/auth/login/", within=30).status == 200, kill


def test_losing_either_memcached_logs_nobody_out_and_losing_both_asks_users_to_log_in_again_and_never_errs(target, ready_keystone):
    user = target.user()
    assert title(user.login(ADMIN, ready_keystone.admin_password).text) == PROJECTS
    # Each session is kept by both: either one restarted or stopped, the other has it, and the
    # user's next request gives the restarted one its copy back (once every worker asks it
    # again, a second after it failed), so that the other can restart next.
    for memcached in ("memcached", "memcached-replica"):
        target.host.run_expect([0], f"systemctl restart {memcached}")
        assert title(user.get("identity/").text) == PROJECTS, f"{memcached} restarted"
        target.host.run_expect([0], f"systemctl stop {memcached}")
        try:
            assert title(user.get("identity/").text) == PROJECTS, f"{memcached} stopped"
        finally:
            target.host.run_expect([0], f"systemctl start {memcached}")
        time.sleep(2)
        assert title(user.get("identity/").text) == PROJECTS, f"{memcached} back"
    # Both gone: the user is sent to the login page, and nobody sees an error.
    target.host.run_expect([0], "systemctl stop memcached memcached-replica")
    try:
        pages = [user.get("identity/"), user.login(ADMIN, ready_keystone.admin_password), target.user().get("auth/login/")]
    finally:
        target.host.run_expect([0], "systemctl start memcached memcached-replica")
    assert [page.status_code for page in pages] == [200] * 3
    assert {title(page.text) for page in pages} == {LOGIN_PAGE}
    # Back: each worker asks a failed server again a second later.
    deadline = time.monotonic() + 30
    while title(user.login(ADMIN, ready_keystone.admin_password).text) != PROJECTS:
        assert time.monotonic() < deadline, "logins did not work again within 30 s"
        time.sleep(1)
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


def test_a_keystone_that_never_answers_or_is_dead_fails_logins_with_horizons_message(target, ready_keystone):
    # The broken Keystone lives in the lab Keystone's container: first a server that accepts
    # connections and never answers, then, once it is stopped, nothing listening at all.
    host = target.keystone.name
    silent = subprocess.Popen(["docker", "exec", host, "timeout", "300", "python3", "-c", SILENT_SERVER])
    slots = len(uwsgi_workers(target)) * int(target.host.check_output(f"sed -n 's/^threads = //p' {UWSGI_INI}"))
    try:
        # The attempts come all at once from one address: past the login rate limit's burst.
        run = target.deploy(f"horizon_keystone_url=http://{host}:5999/v3", "horizon_api_timeout=5", "horizon_login_rate=600")
        assert run.returncode == 0, describe(run)
        for keystone in ("silent", "dead"):
            if keystone == "dead":
                stop_silent_server(silent, host)
            # One login attempt for every uWSGI thread, each on its own thread and released
            # together, and the login page asked for meanwhile.
            users = [target.user() for _ in range(slots)]
            together = threading.Barrier(slots)

            def attempt(user, together):
                together.wait()
                return user.login(ADMIN, "any-password")

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=slots) as pool:
                attempts = [pool.submit(attempt, user, together) for user in users]
                time.sleep(1)
                page = target.get("/auth/login/")
                answers = [attempt.result() for attempt in attempts]
            elapsed = time.monotonic() - started
            assert page.status == 200, keystone
            for answer in answers:
                assert (answer.status_code, title(answer.text)) == (200, LOGIN_PAGE), keystone
                assert error_messages(answer.text), keystone
            # Far below the request time limit (60 s): the API timeout, not a killed worker, ended them.
            assert elapsed < 30, (keystone, elapsed)
    finally:
        stop_silent_server(silent, host)
        back = target.deploy()
    assert back.returncode == 0, describe(back)


def stop_silent_server(silent: subprocess.Popen, host: str) -> None:
    silent.kill()
    # What `docker exec` started in the container outlives the client.
    subprocess.run(["docker", "exec", host, "pkill", "-f", "create_[s]erver"], check=False)


def test_after_a_reboot_the_site_answers_without_anyone_logging_in(target):
    target.reboot()
    assert target.wait_for("/auth/login/", within=120).status == 200
    for service in SERVICES:
        assert target.host.service(service).is_enabled and target.host.service(service).is_running, service


MANIFEST = f"{STATIC_ROOT}/dashboard/manifest.json"
# One entry of the offline manifest gone: the served one's, or, run inside the static build, the
# new build's (the build names it to Django's commands, see horizon-build-static).
DROP_A_KEY = f"""python3 -c '
import json, os
path = os.path.join(os.environ.get("{STATIC_BUILD_VARIABLE}", "{STATIC_ROOT}"), "dashboard", "manifest.json")
manifest = json.load(open(path))
json.dump({{key: value for key, value in manifest.items() if "angular_template_cache_preloads" not in value}}, open(path, "w"))
'"""


def test_a_stale_template_fragment_in_memcached_leaves_the_pages_alone(target):
    # Issue 15's cause: Horizon caches the Angular templates it preloads with Django's cache tag,
    # inside a compressed block. In memcached, a fragment rendered with other settings (another
    # WEBROOT) outlived the build, the workers' blocks no longer matched the manifest: 500.
    # The key of the fragment every page renders with the default theme (_scripts.html).
    fragment = "make_template_fragment_key('angular', ['template_cache_preloads', 'default'])"
    stale = "'<script>/dashboard/static/app/from-another-build.html</script>'"
    script = (
        "from django.core.cache import cache; from django.core.cache.utils import make_template_fragment_key; "
        f"cache.set({fragment}, {stale}, 3600)"
    )
    target.host.run_test(
        f"cd /usr/share/openstack-dashboard && runuser -u horizon -- python3 manage.py shell -c {shlex.quote(script)}"
    )
    target.host.run_test("systemctl reload horizon")
    assert target.wait_for("/auth/login/", within=30).status == 200
    assert statuses_of(target, 4) == [200] * 4


def test_a_build_whose_manifest_lacks_a_key_is_refused_and_the_last_good_build_served(target):
    manifest_before = target.host.file(MANIFEST).content
    # A compressor that reports success with a short manifest, as django-compressor's thread pool did.
    target.host.run_test(f"mv {COMPRESS} {COMPRESS}.real")
    try:
        target.host.run_test(
            f"printf '#!/bin/sh\\n{COMPRESS}.real \"$@\" || exit\\n%s\\n' {shlex.quote(DROP_A_KEY)} >{COMPRESS} && chmod 0755 {COMPRESS}"
        )
        build = target.host.run("/usr/local/sbin/horizon-build-static")
    finally:
        target.host.run_test(f"mv -f {COMPRESS}.real {COMPRESS}")
    assert build.rc == 1, build.stdout + build.stderr
    assert re.search(r"key [0-9a-f]{64} is missing from the offline manifest", build.stderr), build.stderr
    assert "the served build in /var/lib/openstack-dashboard/static is unchanged" in build.stderr
    assert target.host.file(MANIFEST).content == manifest_before
    assert statuses_of(target, 4) == [200] * 4 and static_files_answer(target)
    # Refused, the build is stale: the next run builds again, the one after has nothing to do.
    rebuilt = target.deploy()
    assert rebuilt.returncode == 0 and "Build the static files, check them against the settings" in steps(rebuilt), describe(rebuilt)
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)


def test_a_site_failing_for_want_of_a_manifest_entry_is_repaired_by_the_next_run(target):
    # The manifest loses an entry behind the deploy's back; its stamp says the build is current.
    target.host.run_test(f"{DROP_A_KEY} && touch {STATIC_BUILT} && systemctl reload horizon")
    time.sleep(3)
    assert statuses_of(target, 2) == [500] * 2
    repaired = target.deploy()
    assert repaired.returncode == 0 and "Build the static files, check them against the settings" in steps(repaired), describe(repaired)
    assert target.wait_for("/auth/login/", within=30).status == 200 and static_files_answer(target)
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)
