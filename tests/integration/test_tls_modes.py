"""The TLS settings other than the default, on the shared host: Mozilla's modern profile, client
certificates, and plain HTTP behind a TLS-terminating proxy, whose forwarded headers are believed
from it and from nobody else. The host gets its defaults back at the end; only NGINX reloads in
between."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from lab import targets
from operations.layout import TLS_CLIENT_CA
from tests.integration.conftest import describe, handshake

FORWARDED_CLIENT = "203.0.113.9"
REFERER_REQUIRED = "csrf_failure=Referer%20checking%20failed%20-%20no%20Referer."
# A login form post over plain HTTP that claims, with X-Forwarded-Proto, to have come over HTTPS,
# with a valid CSRF token but no Referer: Django insists on a Referer only when it believes the
# request was secure (Horizon then sends the user back to the login page with the reason). It
# prints the URL the post ends on. Standard library only: it runs both here and inside the lab's
# Keystone container.
FORWARDED_LOGIN = r"""
import re, sys, urllib.parse, urllib.request
url, client = sys.argv[1], sys.argv[2]
headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "X-Forwarded-For": client}
page = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)
cookie = re.search(r"csrftoken=([^;]+)", "; ".join(page.headers.get_all("Set-Cookie"))).group(1)
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "admin", "password": "wrong"}).encode()
print(urllib.request.urlopen(urllib.request.Request(url, form, {**headers, "Cookie": "csrftoken=" + cookie}), timeout=30).url)
"""


@pytest.fixture(scope="module")
def target(fresh):
    target = fresh[0]
    yield target
    back = target.deploy()
    assert back.returncode == 0, describe(back)


def last_logged_client(target) -> str:
    return target.host.check_output("tail -n 1 /var/log/nginx/access.log").split()[0]


def test_modern_profile_accepts_tls_1_3_only(target):
    run = target.deploy("horizon_tls_profile=modern")
    assert run.returncode == 0, describe(run)
    assert handshake(target, (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)) == "TLSV1_ALERT_PROTOCOL_VERSION"
    assert handshake(target, (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def client_certificate(directory: Path, ca: tuple[Path, Path] | None = None) -> tuple[str, str]:
    """A client's certificate and key: signed by ``ca`` (its certificate and key), or self-signed."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key, request = directory / "client.pem", directory / "client.key", directory / "client.csr"
    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key))
    if ca is None:
        openssl("req", "-x509", *new_key, "-days", "2", "-subj", f"/CN={directory.name}", "-out", str(certificate))
    else:
        openssl("req", "-new", *new_key, "-subj", f"/CN={directory.name}", "-out", str(request))
        openssl("x509", "-req", "-in", str(request), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-days", "2",
                "-out", str(certificate))
    return str(certificate), str(key)


def test_with_a_client_ca_only_its_certificates_open_the_dashboard_and_health_checks_need_none(target, tmp_path):
    ca = (tmp_path / "ca.pem", tmp_path / "ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=Dashboard clients CA", "-keyout", str(ca[1]), "-out", str(ca[0]))
    operator = client_certificate(tmp_path / "operator", ca)
    stranger = client_certificate(tmp_path / "stranger")

    run = target.deploy(f"horizon_tls_client_ca={ca[0]}")
    assert run.returncode == 0, describe(run)
    assert target.get("/auth/login/").status == 403
    # NGINX itself refuses a certificate its CAs did not sign ("The SSL certificate error").
    refused = target.get("/auth/login/", client_certificate=stranger)
    assert (refused.status, "The SSL certificate error" in refused.body) == (400, True)
    assert target.get("/auth/login/", client_certificate=operator).status == 200
    assert target.get("/static/dashboard/img/logo.svg").status == 403
    assert target.get("/static/dashboard/img/logo.svg", client_certificate=operator).status == 200
    assert target.get("/healthz").status == 200
    again = target.deploy(f"horizon_tls_client_ca={ca[0]}")
    assert again.changed == 0, describe(again)

    back = target.deploy()
    assert back.returncode == 0, describe(back)
    assert target.get("/auth/login/").status == 200
    assert not target.host.file(TLS_CLIENT_CA).exists


def test_behind_a_tls_proxy_only_the_proxy_may_claim_https_and_name_the_client(target):
    # The lab's Keystone container plays the proxy; this machine is a stranger on the network.
    proxy = target.keystone.name
    run = target.deploy("horizon_tls=false", f"horizon_trusted_proxies={targets.address(proxy)}")
    assert run.returncode == 0, describe(run)

    via_proxy = subprocess.run(
        ["docker", "exec", proxy, "python3", "-c", FORWARDED_LOGIN, f"http://{target.name}/auth/login/", FORWARDED_CLIENT],
        capture_output=True, text=True, check=True,
    )
    assert REFERER_REQUIRED in via_proxy.stdout, "the proxy's X-Forwarded-Proto: https was not believed"
    assert last_logged_client(target) == FORWARDED_CLIENT

    from_stranger = subprocess.run(
        [sys.executable, "-c", FORWARDED_LOGIN, f"http://localhost:{target.port}/auth/login/", FORWARDED_CLIENT],
        capture_output=True, text=True, check=True,
    )
    assert "csrf_failure" not in from_stranger.stdout, "a stranger's X-Forwarded-Proto: https was believed"
    assert last_logged_client(target) != FORWARDED_CLIENT
    assert target.get("/auth/login/", tls=False).status == 200
