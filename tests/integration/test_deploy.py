"""A fresh host, deployed twice through `pyinfra inventory.py deploy.py`: Horizon on NGINX + uWSGI."""

from __future__ import annotations

import hashlib
import re
import shlex
import socket
import ssl

import requests

from operations.layout import STATIC_PREVIOUS, STATIC_PREVIOUS_URI, STATIC_ROOT
from tests.integration.conftest import describe
from tests.integration.dashboard import static_asset

LOGIN = "/auth/login/"
TITLE = "<title>Login - OpenStack Dashboard</title>"


def test_first_run_deploys_and_second_run_changes_nothing(fresh):
    _, first, second = fresh
    assert first.returncode == 0, describe(first)
    assert first.changed > 0
    assert second.returncode == 0, describe(second)
    assert second.changed == 0, describe(second)


def test_login_page_comes_through_nginx_from_uwsgi(target):
    response = target.get(LOGIN)
    assert response.status == 200
    assert TITLE in response.body
    assert response.headers["Server"].startswith("nginx")


def test_static_asset_is_served_precompressed_by_nginx_while_horizon_is_stopped(target):
    asset = static_asset(target.get(LOGIN).body)
    target.host.run_test("systemctl stop horizon.socket horizon")
    try:
        assert target.get(LOGIN).status == 502, "Horizon is stopped: the page itself cannot be rendered"
        response = target.get(asset)
        assert response.status == 200
        assert "max-age=2592000" in response.headers["Cache-Control"]
        # requests accepts gzip; Debian's NGINX compresses only HTML on the fly, so this is the
        # file's precompressed twin.
        assert response.headers.get("Content-Encoding") == "gzip"
    finally:
        target.host.run_test("systemctl start horizon")


def test_browsers_get_http2_and_static_files_as_their_smallest_twin(target):
    # What a browser's handshake offers, and what NGINX picks.
    context = ssl.create_default_context(cafile=target.trusted_certificate())
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("localhost", target.tls_port), timeout=10) as connection:
        with context.wrap_socket(connection, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"

    asset = static_asset(target.get(LOGIN).body)
    sent = {}
    for encoding in ("br", "gzip"):
        response = requests.get(
            target.url.rstrip("/") + asset, headers={"Accept-Encoding": encoding}, verify=target.trusted_certificate(),
            stream=True, timeout=30,
        )
        assert (response.status_code, response.headers.get("Content-Encoding")) == (200, encoding)
        # For the caches on the way, which keep one twin per encoding asked for.
        assert response.headers["Vary"] == "Accept-Encoding"
        sent[encoding] = response.raw.read(decode_content=False)
    # The build's twins, byte for byte: made once, never compressed per request.
    twin = f"{STATIC_ROOT}/{asset.removeprefix('/static/')}"
    assert hashlib.sha256(sent["br"]).hexdigest() == target.host.file(f"{twin}.br").sha256sum
    assert hashlib.sha256(sent["gzip"]).hexdigest() == target.host.file(f"{twin}.gz").sha256sum
    assert len(sent["br"]) < len(sent["gzip"])


def test_a_file_only_the_previous_static_build_has_is_served_from_it_and_nothing_else_is(target):
    # What a page rendered before the last build was switched in names (see horizon-build-static).
    name = "dashboard/css/rendered-before-the-switch.css"
    target.host.run_test(f"mkdir -p {STATIC_PREVIOUS}/dashboard/css && echo 'body {{}}' > {STATIC_PREVIOUS}/{name}")
    try:
        response = target.get(f"/static/{name}")
        assert (response.status, response.body) == (200, "body {}\n")
        assert "max-age=2592000" in response.headers["Cache-Control"]
        assert target.get("/static/dashboard/css/in-no-build.css").status == 404
        # The previous build's own path is NGINX's alone.
        assert target.get(f"{STATIC_PREVIOUS_URI}{name}").status == 404
    finally:
        target.host.run_test(f"rm -f {STATIC_PREVIOUS}/{name}")


def test_recommended_packages_stay_out_and_node_less_with_them(target):
    # The dashboard pulls in fonts-font-awesome, which recommends node-less (and Node.js with it).
    assert target.host.package("fonts-font-awesome").is_installed
    assert not target.host.package("node-less").is_installed


def test_uwsgi_processes_are_not_root(target):
    processes = target.host.process.filter(comm="uwsgi")
    cpus = int(target.host.check_output("nproc"))
    # The master and the default one worker per CPU, at least two.
    assert len(processes) == 1 + max(2, cpus)
    assert {process.user for process in processes} == {"horizon"}


def test_socket_is_not_world_writable_and_not_in_tmp(target):
    socket = target.host.file("/run/horizon.sock")
    assert socket.is_socket
    assert socket.mode == 0o660
    assert (socket.user, socket.group) == ("horizon", "www-data")
    assert target.host.check_output("find /tmp /var/tmp -type s") == ""


def test_apache_is_masked_and_nginx_owns_the_web_port(target):
    assert not target.host.service("apache2").is_running
    assert target.host.run("systemctl is-enabled apache2").stdout.strip() == "masked"
    listeners = target.host.check_output("ss -Htlnp 'sport = :80'")
    assert "nginx" in listeners and "apache" not in listeners


def test_services_are_enabled_and_running(target):
    for name in ("horizon.socket", "horizon", "nginx", "memcached", "memcached-replica"):
        service = target.host.service(name)
        assert service.is_enabled and service.is_running, name


def test_restarting_horizon_brings_the_site_back(target):
    # Both spellings in one test (see tests/conftest.py).
    for command in ("systemctl restart horizon", "service horizon restart"):
        target.host.run_expect([0], command)
        response = target.wait_for(LOGIN)
        assert response.status == 200 and TITLE in response.body, command


def test_running_settings_use_memcached_sessions_kept_twice_and_keyed_by_horizons_release_and_debug_off(target):
    running = target.django_settings("CACHES", "SESSION_ENGINE", "SESSION_CACHE_ALIAS", "DEBUG", "ALLOWED_HOSTS")
    # Django's pymemcache backend, keeping its connections between requests, and its cache
    # sessions, surviving a lost memcached, each on both of the host's memcached: the deploy's
    # own classes (operations/runtime).
    assert running["CACHES"]["default"]["BACKEND"] == "horizon_deploy.PersistentPyMemcacheCache"
    assert running["SESSION_ENGINE"] == "horizon_deploy"
    sessions = running["CACHES"][running["SESSION_CACHE_ALIAS"]]
    assert sessions["BACKEND"] == "horizon_deploy.ReplicatedPyMemcacheCache"
    assert sessions["LOCATION"] == ["127.0.0.1:11211", "127.0.0.1:11212"]
    release = target.host.check_output("dpkg-query -W -f '${Version}' python3-django-horizon")
    assert str(sessions["VERSION"]) == release.partition(":")[2].split(".")[0], release
    assert running["DEBUG"] is False
    assert running["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1"]


def test_secret_key_is_private_to_the_uwsgi_user(target):
    key = target.host.file("/etc/openstack-dashboard/secret_key")
    assert (key.user, key.mode) == ("horizon", 0o600)
    assert len(key.content_string) == 64


def test_settings_files_are_readable_by_horizon_only(target):
    for path in ("/etc/openstack-dashboard/local_settings.py", "/etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py"):
        settings = target.host.file(path)
        assert (settings.user, settings.group, settings.mode) == ("root", "horizon", 0o640), path


def test_bad_input_is_refused_before_anything_changes(target):
    managed = "/etc/nginx/sites-available/horizon /etc/uwsgi/horizon.ini /etc/openstack-dashboard/local_settings.d/*"
    before = target.host.check_output(f"stat -c '%n %Y %s' {managed}")
    run = target.deploy(
        "horizon_http_port=70000",
        "horizon_keystone_url=keystone:5000",
        "horizon_openstack_release=zedd",
        "horizon_tls_certificate=/nonexistent/dashboard.pem",
        "horizon_tls_key=/nonexistent/dashboard.key",
    )
    assert run.returncode != 0
    # pyinfra's --data turns "70000" into a number itself, hence no quotes around it.
    assert "horizon_http_port = 70000: expected a TCP port, a whole number from 1 to 65535" in run.stderr
    assert "horizon_keystone_url = 'keystone:5000': expected an http:// or https:// URL" in run.stderr
    assert "horizon_openstack_release = 'zedd': expected `auto` or" in run.stderr
    assert "horizon_tls_certificate = '/nonexistent/dashboard.pem': expected the path of a readable file" in run.stderr
    assert run.results is None, "no operation may have run"
    assert target.host.check_output(f"stat -c '%n %Y %s' {managed}") == before


def test_a_host_short_of_disk_space_is_refused_before_anything_changes(target):
    # A 20 MiB file system where the static files live: too small to rebuild them in.
    static = "/var/lib/openstack-dashboard/static"
    target.host.run_expect([0], f"mount -t tmpfs -o size=20m horizon-test-full {static}")
    try:
        run = target.deploy()
    finally:
        target.host.run_expect([0], f"umount {static}")
    assert run.returncode != 0 and run.results is None, describe(run)
    assert f"{static}: only 20 MiB free on its file system, the deploy needs 200 MiB there" in run.stderr


def test_a_keystone_that_does_not_answer_is_a_warning_not_a_failure(target):
    try:
        run = target.deploy("horizon_keystone_url=http://keystone.invalid:5000/v3")
        assert run.returncode == 0, describe(run)
        assert "Keystone (http://keystone.invalid:5000/v3) does not answer from this host" in run.stderr
        assert target.wait_for(LOGIN).status == 200
    finally:
        back = target.deploy()
    assert back.returncode == 0 and "does not answer" not in back.stderr, describe(back)


def assert_serves(target, webroot: str) -> None:
    """The login page under ``webroot`` answers 200 (within a reload's time), and so does
    every stylesheet and script it names."""
    page = target.wait_for(webroot + LOGIN[1:])
    assert page.status == 200 and TITLE in page.body, f"{webroot}: {page.status}"
    assets = re.findall(r'(?:href|src)=["\']([^"\']+\.(?:css|js))["\']', page.body)
    assert assets and all(asset.startswith(webroot + "static/") for asset in assets), assets
    assert {asset: target.get(asset).status for asset in assets} == {asset: 200 for asset in assets}


def test_moving_webroot_away_and_back_serves_every_page_after_every_run(target):
    # Issue 15: the fourth run left every page answering 500, and the fifth changed nothing.
    try:
        moved = target.deploy("horizon_webroot=/dashboard/")
        assert moved.returncode == 0, describe(moved)
        assert_serves(target, "/dashboard/")
        assert target.get("/").headers.get("Location", "").endswith("/dashboard/")
        again = target.deploy("horizon_webroot=/dashboard/")
        assert again.returncode == 0 and again.changed == 0, describe(again)
        assert_serves(target, "/dashboard/")
    finally:
        back = target.deploy()
    assert back.returncode == 0, describe(back)
    assert_serves(target, "/")
    fifth = target.deploy()
    assert fifth.returncode == 0 and fifth.changed == 0, describe(fifth)
    assert_serves(target, "/")


def test_a_run_fails_naming_the_cause_when_horizon_does_not_read_its_settings_drop_in(target):
    # Ubuntu's situation on Debian: where Debian links /etc/openstack-dashboard/local_settings.d,
    # Horizon reads a directory of its own holding Debian's drop-ins but not the deploy's,
    # while the deploy goes on writing its drop-in under /etc. The secret key comes from the
    # distribution's settings there, as Ubuntu's local_settings.py has it.
    package_dropins = "/usr/lib/python3/dist-packages/openstack_dashboard/local/local_settings.d"
    secret_key = "from horizon.utils import secret_key\nSECRET_KEY = secret_key.read_from_file('/etc/openstack-dashboard/secret_key')"
    target.host.run_test(
        f"rm {package_dropins} && cp -a /etc/openstack-dashboard/local_settings.d {package_dropins} "
        f"&& rm {package_dropins}/_9000_nginx_uwsgi.py && printf '%s\\n' {shlex.quote(secret_key)} >{package_dropins}/_0000_key.py"
    )
    cause = (
        "Horizon does not read /etc/openstack-dashboard/local_settings.d/_9000_nginx_uwsgi.py: "
        f"it reads its settings drop-ins from {package_dropins}"
    )
    try:
        # Horizon restarted by hand: a run with nothing to change ends with the site check.
        target.host.run_test("systemctl reload horizon")
        unchanged = target.deploy()
        # A settings change: the static build's own check refuses it before any reload.
        changed = target.deploy("horizon_api_timeout=5")
    finally:
        target.host.run_test(f"rm -r {package_dropins} && ln -s /etc/openstack-dashboard/local_settings.d {package_dropins}")
        target.host.run_test("systemctl reload horizon")
    assert unchanged.returncode != 0, describe(unchanged)
    assert f"the site does not serve this run's configuration: {cause}" in unchanged.stderr, describe(unchanged)
    assert changed.returncode != 0 and cause in changed.stderr, describe(changed)
    back = target.deploy()
    assert back.returncode == 0 and "The site serves this run's configuration" in back.stderr, describe(back)
    assert target.get(LOGIN).status == 200
    again = target.deploy()
    assert again.returncode == 0 and again.changed == 0, describe(again)
