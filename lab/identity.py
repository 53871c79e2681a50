"""The lab's Keystone: a systemd container provisioned by ``lab/keystone.py`` through pyinfra.

Provisioning runs in the background while the dashboards are deployed (they do not need
Keystone until someone logs in); ``Keystone.wait()`` joins it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import requests

from lab import targets

ADMIN = "admin"
REGION = "RegionOne"
# The article's four parts of a cloud, as Keystone's catalog names them. Their endpoints point
# at a port of the Keystone container where nothing listens: the dashboard offers the
# services, and every call to them fails at once, as with a service that is down.
SERVICES = {
    "compute": ("nova", 8774),
    "network": ("neutron", 9696),
    "volumev3": ("cinderv3", 8776),
    "object-store": ("swift", 8080),
    # Not one of the article's: for the dashboard plugin tests.
    "orchestration": ("heat", 8004),
    # The one that answers: Glance in the Keystone container, once provide_glance() ran.
    "image": ("glance", 9292),
}
# What lab/up lists beside identity, and what the benchmarks put back after measuring: Glance
# alone. With the services that do not answer listed too, Horizon lands a logged-in lab user on
# the project overview, which answers 503 for want of compute.
LAB_CATALOG = ["image"]
# Debian's Prometheus, in the Keystone container once provide_prometheus() ran.
PROMETHEUS_PORT = 9090
# The services the lab also serves over HTTPS, and on which port (lab/glance.py's HAProxy).
TLS_PORTS = {"image": 9293}
# Its certificate, with its key beside it (HAProxy's ssl-load-extra-files): self-signed for
# the Keystone container's name.
GLANCE_CERTIFICATE = "/etc/haproxy/glance.pem"


@dataclass
class Keystone:
    name: str
    admin_password: str = field(repr=False)
    glance_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    _provisioning: subprocess.Popen | None = field(default=None, repr=False)
    _output: tempfile.TemporaryFile | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The public identity endpoint, as the dashboards on the lab network reach it."""
        return f"http://{self.name}:5000/v3"

    def provision(self) -> None:
        """Start ``pyinfra @docker/NAME lab/keystone.py``; the password goes by environment only."""
        # Output to a file, not a pipe: nobody reads it until wait(), and a full pipe would stall pyinfra.
        self._output = tempfile.TemporaryFile(mode="w+")
        self._provisioning = subprocess.Popen(
            targets.pyinfra_command(json_output=False, inventory=f"@docker/{self.name}", deploy="lab/keystone.py"),
            cwd=targets.ROOT,
            env={**os.environ, "HORIZON_LAB_ADMIN_PASSWORD": self.admin_password},
            stdout=self._output,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self) -> None:
        """Block until provisioning is done; raise with pyinfra's output if it failed."""
        if self._provisioning is None:
            return
        returncode = self._provisioning.wait()
        self._output.seek(0)
        output = self._output.read()
        self._provisioning = self._output = None
        if returncode != 0:
            raise RuntimeError(f"provisioning Keystone in {self.name} failed:\n{output[-4000:]}")
        self.wait_until_it_issues_tokens()

    def wait_until_it_issues_tokens(self, within: float = 180) -> None:
        """Provisioning ends with a restart, and Keystone's workers are still loading then: wait
        until the admin gets a token, with the client's own copy of the password."""
        container = targets.client().containers.get(self.name)
        deadline = time.monotonic() + within
        while True:
            result = container.exec_run(["python3", "-c", 'import openstack; openstack.connect(cloud="lab").authorize()'])
            if result.exit_code == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Keystone in {self.name} issued no token within {within} s: {result.output.decode()[-2000:]}")
            time.sleep(1)

    def set_services(self, types: list[str], tls: bool = False) -> None:
        """Make the catalog hold exactly identity and the given ``SERVICES``; with ``tls``, their
        HTTPS endpoints where they have one (``TLS_PORTS``)."""
        urls = {
            kind: f"https://{self.name}:{TLS_PORTS[kind]}" if tls and kind in TLS_PORTS else f"http://{self.name}:{port}"
            for kind, (name, port) in SERVICES.items()
            if kind in types
        }
        script = f"""
import openstack
wanted = {json.dumps(urls)}
every = {json.dumps(SERVICES)}
cloud = openstack.connect(cloud="lab")
for kind, (name, port) in every.items():
    service = cloud.identity.find_service(name)
    if service and kind not in wanted:
        cloud.identity.delete_service(service)
    elif kind in wanted:
        if not service:
            service = cloud.identity.create_service(type=kind, name=name)
        endpoints = list(cloud.identity.endpoints(service_id=service.id))
        if [endpoint.url for endpoint in endpoints] != [wanted[kind]]:
            for endpoint in endpoints:
                cloud.identity.delete_endpoint(endpoint)
            cloud.identity.create_endpoint(service_id=service.id, interface="public", region_id="{REGION}", url=wanted[kind])
"""
        result = targets.client().containers.get(self.name).exec_run(["python3", "-c", script])
        if result.exit_code != 0:
            raise RuntimeError(f"setting the catalog of {self.name}: {result.output.decode()[-2000:]}")

    def glance_certificate(self) -> str:
        """The certificate of Glance's HTTPS endpoint (PEM), for the dashboards to trust."""
        return targets.client().containers.get(self.name).exec_run(["cat", GLANCE_CERTIFICATE]).output.decode()


def start_keystone(name: str, image: str = "debian:12") -> Keystone:
    """A fresh Keystone container with a new random admin password, provisioning under way."""
    targets.start(name, image)
    keystone = Keystone(name, admin_password=secrets.token_urlsafe(18))
    keystone.provision()
    return keystone


def provide_glance(keystone: Keystone, origins: list[str]) -> None:
    """Glance in the Keystone container (``lab/glance.py``), uploads allowed from the browsers of
    the dashboards at ``origins``; the service password goes by environment only. The catalog
    lists it once ``set_services`` names "image"."""
    run_lab_deploy(
        keystone,
        "lab/glance.py",
        HORIZON_LAB_GLANCE_PASSWORD=keystone.glance_password,
        HORIZON_LAB_DASHBOARD_ORIGINS=",".join(origins),
    )


def provide_prometheus(keystone: Keystone, scrape: list[str], within: float = 60) -> str:
    """Prometheus in the Keystone container (``lab/prometheus.py``), scraping the exporters at
    ``scrape`` (``address:port``) every second; the URL of its HTTP API."""
    run_lab_deploy(keystone, "lab/prometheus.py", HORIZON_LAB_SCRAPE_TARGETS=",".join(scrape))
    server = f"http://{targets.address(keystone.name)}:{PROMETHEUS_PORT}/"
    # A restarted Prometheus answers its API with "Service Unavailable" until its storage is loaded.
    deadline = time.monotonic() + within
    while not ready(server + "-/ready"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prometheus in {keystone.name} is not ready after {within} s")
        time.sleep(0.5)
    return server + "api/v1/"


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def provide_database(keystone: Keystone, password: str) -> None:
    """MariaDB in the Keystone container (``lab/database.py``), with a ``horizon`` database and
    a ``horizon`` user of the given password; the password goes by environment only."""
    run_lab_deploy(keystone, "lab/database.py", HORIZON_LAB_DATABASE_PASSWORD=password)


def run_lab_deploy(keystone: Keystone, deploy: str, **environment: str) -> None:
    """``pyinfra @docker/KEYSTONE DEPLOY`` with ``environment`` added; raise with its output if it fails."""
    run = subprocess.run(
        targets.pyinfra_command(json_output=False, inventory=f"@docker/{keystone.name}", deploy=deploy),
        cwd=targets.ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{deploy} on {keystone.name} failed:\n{run.stdout[-4000:]}{run.stderr[-2000:]}")
