"""Real systemd containers, deployed through the pyinfra command line exactly as users do.

The base images are a parameter (``--image``, repeatable, see tests/conftest.py; default
Debian 12 and 13). Where a registry is reachable, ``--image ubuntu:24.04`` runs the same tests
on Ubuntu.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import testinfra

from lab import identity, targets
from operations.layout import TLS_CERTIFICATE, UWSGI_VENV
from tests.integration.browser import chromium
from tests.integration.dashboard import DashboardUser, stylesheets

# What the tests' requests look like to Horizon: they come through a port published on
# this machine's loopback.
TEST_DATA = ("horizon_server_name=localhost", "horizon_allowed_hosts=localhost,127.0.0.1")


def deploy_data(keystone: identity.Keystone) -> tuple[str, ...]:
    """``--data`` for every test deploy: the names the tests' requests use, the lab's Keystone."""
    return (*TEST_DATA, f"horizon_keystone_url={keystone.url}")


@dataclass
class Response:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    body: str


@dataclass
class Target:
    """A booted container, its published HTTP and HTTPS ports and a testinfra host for assertions."""

    name: str
    port: int
    tls_port: int
    host: testinfra.host.Host
    keystone: identity.Keystone
    # The certificate the tests trust for this host: its own self-signed one unless one was given.
    certificate: str | None = None
    # Whether its last run deployed data of a test's own (or was killed): see the target fixture.
    left_with_own_data: bool = field(default=False, init=False)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.tls_port}/"

    def trusted_certificate(self) -> str:
        if self.certificate is None:
            descriptor, path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".pem")
            os.write(descriptor, self.host.file(TLS_CERTIFICATE).content)
            os.close(descriptor)
            self.certificate = path
        return self.certificate

    def deploy(self, *data: str, env: dict[str, str] | None = None) -> targets.DeployRun:
        self.left_with_own_data = bool(data) or env is not None
        return targets.deploy(self.name, *deploy_data(self.keystone), *data, env=env)

    def start_deploy(self, *data: str) -> subprocess.Popen:
        """A deploy started, for ``targets.finish_deploy`` to collect."""
        self.left_with_own_data = bool(data)
        return targets.start_deploy(*deploy_data(self.keystone), *data, env=targets.lab_environment(self.name))

    def deploy_killed_when(self, condition: str, *data: str, stop_on_host: str = "") -> targets.DeployRun:
        """Start a deploy and kill pyinfra once ``condition`` (a shell test on the host) holds,
        then run ``stop_on_host`` there: through a lost SSH connection what pyinfra started on the
        host dies with it; through ``docker exec`` it would carry on, so it is stopped by hand."""
        process = self.start_deploy(*data)
        self.left_with_own_data = True
        while process.poll() is None and self.host.run(condition).rc != 0:
            time.sleep(0.05)
        process.kill()
        if stop_on_host:
            self.host.run(stop_on_host)
        return targets.finish_deploy(process)

    def python(self) -> str:
        """The Python Horizon runs in (uWSGI's virtualenv, when there is one: plugins from PyPI are there)."""
        venv_python = f"{UWSGI_VENV}/bin/python3"
        return venv_python if self.host.file(venv_python).exists else "python3"

    def django_settings(self, *names: str) -> dict:
        """The running settings, read as the uWSGI user does (the files are not world-readable)."""
        script = (
            "import json; from django.conf import settings; "
            f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}, default=str))"
        )
        output = self.host.check_output(
            f"cd /usr/share/openstack-dashboard && runuser -u horizon -- {self.python()} manage.py shell -c {shlex.quote(script)}"
        )
        return json.loads(output.splitlines()[-1])

    def get(self, path: str, timeout: float = 30, tls: bool = True, client_certificate: tuple | None = None) -> Response:
        """One request, redirects not followed: over HTTPS, verified (showing a client certificate
        and key when given), or over plain HTTP."""
        if tls:
            url, verify = f"https://localhost:{self.tls_port}{path}", self.trusted_certificate()
        else:
            url, verify = f"http://localhost:{self.port}{path}", False
        response = requests.get(url, allow_redirects=False, verify=verify, cert=client_certificate, timeout=timeout)
        return Response(response.status_code, response.headers, response.text)

    def listening(self, *ports: int) -> list[str]:
        """The addresses the host listens on for ``ports``, as ``address:port``."""
        lines = self.host.check_output("ss --tcp --listening --numeric --no-header").splitlines()
        return sorted(fields[3] for fields in (line.split() for line in lines) if int(fields[3].rpartition(":")[2]) in ports)

    def journal_cursor(self) -> str:
        """Where the journal ends now, for ``journal_after``: exact where a time in seconds would
        also take the lines of the second it was read in."""
        output = self.host.check_output("journalctl --lines=0 --show-cursor --no-pager")
        return output.rpartition("-- cursor: ")[2].strip()

    def journal_after(self, cursor: str, unit: str = "horizon") -> str:
        """``unit``'s messages logged after ``cursor``, one a line."""
        return self.host.check_output(f"journalctl -u {unit} --after-cursor={shlex.quote(cursor)} --no-pager -o cat")

    def reboot(self) -> None:
        """``docker restart``: systemd shuts down and boots again; Docker picks new ports."""
        container = targets.client().containers.get(self.name)
        container.restart()
        targets.wait_for_boot(container, timeout=120)
        self.port, self.tls_port = published_ports(self.name)

    def user(self) -> DashboardUser:
        return DashboardUser(self.url, self.trusted_certificate())

    def wait_for(self, path: str, status: int = 200, within: float = 60, tls: bool = True) -> Response:
        """Poll ``path`` until it answers ``status``; the last answer otherwise."""
        deadline = time.monotonic() + within
        while True:
            try:
                response = self.get(path, timeout=10, tls=tls)
            except requests.RequestException as error:
                response = Response(0, requests.structures.CaseInsensitiveDict(), str(error))
            if response.status == status or time.monotonic() > deadline:
                return response
            time.sleep(0.5)


def published_ports(name: str) -> tuple[int, int]:
    """This machine's ports for the container's 80 and 443 (chosen by Docker at each start)."""
    container = targets.client().containers.get(name)
    return tuple(int(container.ports[f"{inside}/tcp"][0]["HostPort"]) for inside in (80, 443))


def start_target(name: str, image: str, keystone: identity.Keystone) -> Target:
    targets.start(name, image, publish={80: None, 443: None})
    return Target(name, *published_ports(name), testinfra.get_host(f"docker://{name}"), keystone)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the end of each test container's journal (Horizon, NGINX,
    HAProxy, Keystone): the containers are gone by the time anyone reads the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for container in targets.client().containers.list(filters={"name": "horizon-test-"}):
        journal = container.exec_run(
            ["journalctl", "--no-pager", "--lines=120", "-u", "horizon", "-u", "nginx", "-u", "haproxy", "-u", "keystone"]
        )
        report.sections.append((f"journal of {container.name}", journal.output.decode(errors="replace")))


@pytest.fixture(scope="session")
def keystone(worker_id):
    """The lab's real Keystone, shared by the worker's tests; it provisions while the dashboards deploy."""
    started = identity.start_keystone(f"horizon-test-keystone-{worker_id}")
    yield started
    targets.remove(started.name)


@pytest.fixture(scope="session")
def ready_keystone(keystone):
    """The same Keystone, once it answers: for the tests that log in."""
    keystone.wait()
    return keystone


@pytest.fixture(scope="session")
def ready_glance(fresh, ready_keystone):
    """The worker's Keystone with the lab's Glance beside it, which takes uploads from the shared
    host's browsers too; provisioned when a test first needs it."""
    identity.provide_glance(ready_keystone, [fresh[0].url.rstrip("/")])
    return ready_keystone


@pytest.fixture
def images_in_catalog(ready_glance):
    """Glance in the catalog for the test's logins, and out of it again after."""
    ready_glance.set_services(["image"])
    yield ready_glance
    ready_glance.set_services([])


@pytest.fixture(scope="module")
def browser(keystone):
    """Debian's Chromium, headless; it finds the lab's Keystone container, and the Glance beside
    it, by name, as the dashboards do."""
    with chromium({keystone.name: targets.address(keystone.name)}) as driver:
        yield driver


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


@pytest.fixture
def target(fresh):
    """The shared host, deployed with the defaults. A test that changes its data puts the defaults
    back itself and asserts that run; one that fails before it gets them back here, so its failure
    is not also the next test's."""
    host = fresh[0]
    yield host
    if host.left_with_own_data:
        host.deploy()


def handshake(target: Target, versions: tuple, ciphers: str = "DEFAULT:@SECLEVEL=0", server_name: str = "localhost") -> str:
    """The TLS version agreed on, or the reason the handshake failed. The client offers old
    protocols and weak ciphers on purpose (security level 0), so a refusal is the server's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version, context.maximum_version = versions
    context.set_ciphers(ciphers)
    try:
        with socket.create_connection(("localhost", target.tls_port), timeout=30) as connection:
            with context.wrap_socket(connection, server_hostname=server_name) as tls:
                return tls.version()
    except ssl.SSLError as error:
        return error.reason


def compiled_css(target, page: str) -> str:
    """The stylesheets ``page`` names, as one text."""
    return "".join(target.user().get(link).text for link in stylesheets(page))


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for the name the tests use, as an operator brings one (self-signed here)."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "dashboard.pem", directory / "dashboard.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


def describe(run: targets.DeployRun) -> str:
    """What to print when a run did not do what a test expected: what changed, every line that
    reports an error (a failing host's message can be far from the end), and the end."""
    lines = run.stderr.splitlines()
    errors = "\n".join(line for line in lines if re.search(r"\berror\b|Error:|Traceback|E: ", line))
    changed = run.changed_operations if run.results else "no results"
    return f"pyinfra exited {run.returncode}; changed: {changed}\nerrors:\n{errors[-6000:]}\nend:\n{run.stderr[-2000:]}"
