"""The TLS settings other than the default, on the shared host: Mozilla's modern profile, and plain
HTTP behind a TLS-terminating proxy, whose forwarded headers are believed from it and from nobody
else. The host gets its defaults back at the end; only NGINX reloads in between."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest

from lab import targets
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


def lab_address(container: str) -> str:
    return targets.client().containers.get(container).attrs["NetworkSettings"]["Networks"][targets.NETWORK]["IPAddress"]


def last_logged_client(target) -> str:
    return target.host.check_output("tail -n 1 /var/log/nginx/access.log").split()[0]


def test_modern_profile_accepts_tls_1_3_only(target):
    run = target.deploy("horizon_tls_profile=modern")
    assert run.returncode == 0, describe(run)
    assert handshake(target, (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)) == "TLSV1_ALERT_PROTOCOL_VERSION"
    assert handshake(target, (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"


def test_behind_a_tls_proxy_only_the_proxy_may_claim_https_and_name_the_client(target):
    # The lab's Keystone container plays the proxy; this machine is a stranger on the network.
    proxy = target.keystone.name
    run = target.deploy("horizon_tls=false", f"horizon_trusted_proxies={lab_address(proxy)}")
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
