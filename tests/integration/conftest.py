"""Real systemd containers, deployed through the pyinfra command line exactly as users do.

The base images are a parameter (``--image``, repeatable, see tests/conftest.py; default
Debian 12 and 13). Where a registry is reachable, ``--image ubuntu:24.04`` runs the same tests
on Ubuntu.
"""

from __future__ import annotations

import json
import re
import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
import testinfra

from lab import identity, targets

# What the tests' requests look like to Horizon: they come through a port published on
# this machine's loopback.
TEST_DATA = ("horizon_server_name=localhost", "horizon_allowed_hosts=localhost,127.0.0.1")


def deploy_data(keystone: identity.Keystone) -> tuple[str, ...]:
    """``--data`` for every test deploy: the names the tests' requests use, the lab's Keystone."""
    return (*TEST_DATA, f"horizon_keystone_url={keystone.url}")


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to check, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_KeepRedirects)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Target:
    """A booted container, its published HTTP port and a testinfra host for assertions."""

    name: str
    port: int
    host: testinfra.host.Host
    keystone: identity.Keystone

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/"

    def deploy(self, *data: str) -> targets.DeployRun:
        return targets.deploy(self.name, *deploy_data(self.keystone), *data)

    def django_settings(self, *names: str) -> dict:
        """The running settings, read as the uWSGI user does (the files are not world-readable)."""
        script = (
            "import json; from django.conf import settings; "
            f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}, default=str))"
        )
        output = self.host.check_output(
            f"cd /usr/share/openstack-dashboard && runuser -u horizon -- python3 manage.py shell -c {shlex.quote(script)}"
        )
        return json.loads(output.splitlines()[-1])

    def get(self, path: str, timeout: float = 30) -> Response:
        request = urllib.request.Request(f"http://localhost:{self.port}{path}")
        try:
            with _opener.open(request, timeout=timeout) as response:
                return Response(response.status, dict(response.headers), response.read().decode(errors="replace"))
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read().decode(errors="replace"))

    def wait_for(self, path: str, status: int = 200, within: float = 60) -> Response:
        """Poll ``path`` until it answers ``status``; the last answer otherwise."""
        deadline = time.monotonic() + within
        while True:
            try:
                response = self.get(path, timeout=10)
            except (urllib.error.URLError, ConnectionError) as error:
                response = Response(0, {}, str(error))
            if response.status == status or time.monotonic() > deadline:
                return response
            time.sleep(0.5)


def start_target(name: str, image: str, keystone: identity.Keystone) -> Target:
    container = targets.start(name, image, publish={80: None})
    container.reload()
    port = int(container.ports["80/tcp"][0]["HostPort"])
    return Target(name, port, testinfra.get_host(f"docker://{name}"), keystone)


@pytest.fixture(scope="session")
def keystone():
    """The lab's real Keystone, shared by every test; it provisions while the dashboards deploy."""
    started = identity.start_keystone("horizon-test-keystone")
    yield started
    targets.remove(started.name)


@pytest.fixture(scope="session")
def ready_keystone(keystone):
    """The same Keystone, once it answers: for the tests that log in."""
    keystone.wait()
    return keystone


@pytest.fixture(scope="module")
def target_factory(request, keystone):
    """Start containers named after the test module; removed when the module is done."""
    started = []

    def start(suffix: str, image: str) -> Target:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{request.module.__name__.rsplit('.', 1)[-1]}-{suffix}-{image}")
        target = start_target(f"horizon-test-{slug}".strip("-"), image, keystone)
        started.append(target.name)
        return target

    yield start
    for name in started:
        targets.remove(name)


@pytest.fixture(scope="session")
def fresh(image, keystone):
    """A fresh host of ``image`` deployed twice with the defaults; shared by the modules that
    test what a deployed dashboard does (deploy, login, browser)."""
    target = start_target(f"horizon-test-fresh-{re.sub(r'[^a-z0-9]+', '-', image)}", image, keystone)
    first = target.deploy()
    second = target.deploy()
    yield target, first, second
    targets.remove(target.name)


def static_asset(login_page: str) -> str:
    """The first stylesheet the login page links to."""
    return re.search(r'href="([^"]+\.css)"', login_page).group(1)


def describe(run: targets.DeployRun) -> str:
    """What to print when a run did not do what a test expected: what changed, every line that
    reports an error (a failing host's message can be far from the end), and the end."""
    lines = run.stderr.splitlines()
    errors = "\n".join(line for line in lines if re.search(r"\berror\b|Error:|Traceback|E: ", line))
    changed = run.changed_operations if run.results else "no results"
    return f"pyinfra exited {run.returncode}; changed: {changed}\nerrors:\n{errors[-6000:]}\nend:\n{run.stderr[-2000:]}"
