"""Secure by default: the deploy's defaults (no extra data) checked against the OpenStack Security
Guide's dashboard checklist, the CIS NGINX items a script can check, and the sandboxing of the
services. What the outside can see is checked from the outside."""

from __future__ import annotations

import http.client
import re
import ssl

import pytest
import requests

from lab.identity import ADMIN
from tests.integration.conftest import handshake

# systemd-analyze's exposure scale: 0 is fully sandboxed, 10 is not at all. Measured: 1.6 on Debian 12.
MAX_EXPOSURE = 2.0
MANAGED_CONFIGURATION = [
    "/etc/nginx/sites-available/horizon",
    "/etc/nginx/snippets/horizon-headers.conf",
    "/etc/nginx/snippets/horizon-tls.conf",
    "/etc/nginx/snippets/horizon-uwsgi.conf",
    "/etc/uwsgi/horizon.ini",
    "/etc/systemd/system/horizon.service",
    "/etc/systemd/system/horizon.socket",
    "/etc/memcached.conf",
    "/etc/memcached-replica.conf",
    "/etc/systemd/system/memcached-replica.service",
]
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'",
}


def raw_request(target, method: str, path: str, host: str = "localhost", tls: bool = True) -> http.client.HTTPResponse:
    """Any method, any Host header: what a scanner sends."""
    if tls:
        context = ssl.create_default_context(cafile=target.trusted_certificate())
        connection = http.client.HTTPSConnection("localhost", target.tls_port, timeout=30, context=context)
    else:
        connection = http.client.HTTPConnection("localhost", target.port, timeout=30)
    connection.request(method, path, headers={"Host": host})
    return connection.getresponse()


def test_settings_files_are_owned_by_root_and_readable_by_horizon_only(target):
    """Check-Dashboard-01 and 02, the distribution's own drop-ins included."""
    listing = target.host.check_output(
        "find /etc/openstack-dashboard/local_settings.py /etc/openstack-dashboard/local_settings.d -name '*.py' "
        "-printf '%u %g %m %p\\n'"
    ).splitlines()
    assert len(listing) >= 2
    for line in listing:
        user, group, mode, path = line.split()
        assert (user, group) == ("root", "horizon"), path
        assert int(mode, 8) & 0o137 == 0, f"{path}: mode {mode}"


def test_login_page_refuses_framing_offers_no_password_autocomplete_and_no_reveal(target):
    """Check-Dashboard-03, 07 and 08, as the browser gets them."""
    page = target.get("/auth/login/")
    assert 'id="anti-clickjack"' in page.body
    assert page.headers["X-Frame-Options"] == "DENY"
    # Horizon's decoy fields catch the browser's autofill; the real ones ask for no autocomplete.
    assert 'name="fake_password"' in page.body
    assert re.search(r'<form[^>]*action="/auth/login/"[^>]*autocomplete="off"', page.body, re.S)
    assert re.search(r"conf\.disable_password_reveal =\s*true;", page.body)


def test_cookies_are_secure_and_the_session_cookie_http_only(target, ready_keystone):
    """Check-Dashboard-04, 05 and 06, on the cookies a real login sets."""
    user = target.user()
    user.login(ADMIN, ready_keystone.admin_password)
    cookies = {cookie.name: cookie for cookie in user.http.cookies}
    assert cookies["csrftoken"].secure and cookies["sessionid"].secure
    assert cookies["sessionid"].has_nonstandard_attr("HttpOnly")


def test_only_tls_1_2_and_1_3_with_strong_ciphers_are_accepted(target):
    """Mozilla's intermediate profile: old protocols and weak ciphers are refused by the server."""
    assert handshake(target, (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)) == "TLSV1_ALERT_PROTOCOL_VERSION"
    assert handshake(target, (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)) == "TLSV1_ALERT_PROTOCOL_VERSION"
    assert handshake(target, (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2), ciphers="AES128-SHA:@SECLEVEL=0") == (
        "SSLV3_ALERT_HANDSHAKE_FAILURE"
    )
    assert handshake(target, (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)) == "TLSv1.2"
    assert handshake(target, (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"


def test_plain_http_answers_a_redirect_to_https(target):
    response = target.get("/auth/login/?next=/identity/", tls=False)
    assert response.status == 301
    assert response.headers["Location"] == "https://localhost/auth/login/?next=/identity/"


def test_a_tls_name_other_than_the_dashboards_gets_no_handshake(target):
    assert handshake(target, (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3), server_name="attacker.example") == (
        "TLSV1_UNRECOGNIZED_NAME"
    )


def test_private_key_is_root_only(target):
    key = target.host.file("/etc/ssl/private/horizon-dashboard.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)


def test_running_settings_enforce_the_password_checks(target):
    """Check-Dashboard-09 and 10, and the basics: DEBUG off, no wildcard host."""
    running = target.django_settings(
        "ENFORCE_PASSWORD_CHECK", "HORIZON_CONFIG", "DEBUG", "ALLOWED_HOSTS", "SECURE_PROXY_SSL_HEADER"
    )
    assert running["ENFORCE_PASSWORD_CHECK"] is True
    # Check-Dashboard-11: NGINX sets the header from the connection itself.
    assert running["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    validator = running["HORIZON_CONFIG"]["password_validator"]
    assert validator["regex"] == "^.{12,}$" and not re.fullmatch(validator["regex"], "short-pass")
    assert running["HORIZON_CONFIG"]["password_autocomplete"] == "off"
    assert running["HORIZON_CONFIG"]["disable_password_reveal"] is True
    assert running["DEBUG"] is False and "*" not in running["ALLOWED_HOSTS"]


def test_secret_key_never_appears_in_pyinfra_output_or_a_command_line(fresh):
    target, first, second = fresh
    key = target.host.check_output("cat /etc/openstack-dashboard/secret_key")
    assert len(key) == 64
    for run in (first, second):
        assert key not in run.stdout and key not in run.stderr
    assert key not in target.host.check_output("ps -eo args")


def test_security_headers_are_on_pages_errors_and_static_files(target):
    static = re.search(r'href="([^"]+\.css)"', target.get("/auth/login/").body).group(1)
    for path in ("/auth/login/", "/no-such-page/", static, "/static/no-such-file.css"):
        response = target.get(path)
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, f"{path} ({response.status}): {header}"


def test_nginx_does_not_tell_its_version(target):
    assert target.get("/auth/login/").headers["Server"] == "nginx"


def test_a_host_name_other_than_the_dashboards_gets_no_answer(target):
    # Over TLS too when the handshake named the dashboard (another name gets no handshake at
    # all, below) and only the Host header names another site.
    for tls in (False, True):
        with pytest.raises(http.client.RemoteDisconnected):
            raw_request(target, "GET", "/auth/login/", host="attacker.example", tls=tls)
    assert raw_request(target, "GET", "/auth/login/").status == 200


def test_methods_horizon_does_not_use_are_refused(target):
    # Every method in one test (see tests/conftest.py).
    for method in ("TRACE", "OPTIONS", "CONNECT", "PROPFIND"):
        assert raw_request(target, method, "/auth/login/").status == 405, method


def test_managed_configuration_is_root_owned_and_not_writable_by_others(target):
    for path in MANAGED_CONFIGURATION:
        managed = target.host.file(path)
        assert managed.user == "root", path
        assert managed.mode & 0o022 == 0, f"{path}: {oct(managed.mode)}"


def test_uwsgi_has_no_tcp_listener(target):
    listeners = target.host.check_output("ss -Htlnp")
    assert "uwsgi" not in listeners


def test_both_memcached_listen_on_loopback_tcp_only(target):
    for port in (11211, 11212):
        assert target.host.check_output(f"ss -Huln 'sport = :{port}'") == ""
        addresses = {line.split()[3] for line in target.host.check_output(f"ss -Htln 'sport = :{port}'").splitlines()}
        assert addresses == {f"127.0.0.1:{port}"}


def test_horizon_unit_is_sandboxed(target):
    report = target.host.check_output("systemd-analyze security horizon --no-pager")
    exposure = float(re.search(r"Overall exposure level for horizon\.service: ([\d.]+)", report).group(1))
    assert exposure <= MAX_EXPOSURE, report


def test_a_large_body_is_refused_except_where_horizon_takes_uploads(target):
    two_megabytes = b"x" * (2 * 1024 * 1024)

    def post(path: str) -> int:
        url = f"https://localhost:{target.tls_port}{path}"
        return requests.post(url, data=two_megabytes, verify=target.trusted_certificate(), timeout=60).status_code

    assert post("/identity/") == 413
    # Horizon itself answers the upload URL (a stranger is not logged in), NGINX let it through;
    # repeatedly: without uWSGI reading the unread body first, about one in six answers was a 502.
    statuses = [post("/api/glance/images/") for _ in range(20)]
    assert not {413, 500, 502} & set(statuses), statuses


def test_a_burst_of_login_attempts_is_answered_429_while_the_page_still_renders(target):
    # Last in this module: the host's login bucket is empty for a minute after it.
    url = f"https://localhost:{target.tls_port}/auth/login/"
    attempts = [
        requests.post(url, data={"username": "admin", "password": f"guess-{n}"}, verify=target.trusted_certificate(), timeout=30)
        for n in range(30)
    ]
    statuses = [attempt.status_code for attempt in attempts]
    # The default burst of 10 goes through (Django refuses them: no CSRF token), then NGINX says no.
    assert 429 not in statuses[:5] and statuses[-10:] == [429] * 10, statuses
    assert attempts[-1].headers["Strict-Transport-Security"] == SECURITY_HEADERS["Strict-Transport-Security"]
    assert target.get("/auth/login/").status == 200
