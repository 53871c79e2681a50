"""Systemd containers that stand in for real hosts: for the lab and for the integration tests.

No registry is reachable here, so images come from ``lab/build-image.sh`` (debootstrap +
``docker import``). Containers boot systemd as PID 1 with the smallest set of privileges that
works on these machines (``--privileged`` does not), on a network of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

ROOT = Path(__file__).resolve().parent.parent
NETWORK = "horizon-lab"
# Downloaded .debs are kept here between containers and runs: the packages are still the
# distribution's real ones, installed by the deploy, only not fetched twice.
APT_CACHE = Path(os.environ.get("HORIZON_LAB_APT_CACHE", "/var/cache/horizon-lab/apt"))


@dataclass(frozen=True)
class Image:
    suite: str
    tag: str


IMAGES = {
    "debian:12": Image("bookworm", "horizon-lab/debian:12"),
    "debian:13": Image("trixie", "horizon-lab/debian:13"),
}


def client() -> docker.DockerClient:
    return docker.from_env()


def ensure_image(name: str) -> str:
    """The local tag for ``name`` (``debian:12``), built once; other names are used as they are."""
    image = IMAGES.get(name)
    if image is None:
        return name
    subprocess.run([str(ROOT / "lab" / "build-image.sh"), image.suite, image.tag], check=True)
    return image.tag


def ensure_network() -> None:
    docker_client = client()
    if not docker_client.networks.list(names=[NETWORK]):
        docker_client.networks.create(NETWORK, driver="bridge")


def remove(name: str) -> None:
    try:
        client().containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def start(name: str, image: str, publish: dict[int, int] | None = None, cache_apt: bool = True) -> Container:
    """Start a fresh systemd container ``name`` from ``image`` and wait until systemd has booted."""
    remove(name)
    ensure_network()
    volumes = {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}
    if cache_apt:
        APT_CACHE.mkdir(parents=True, exist_ok=True)
        volumes[str(APT_CACHE)] = {"bind": "/var/cache/apt/archives", "mode": "rw"}
    container = client().containers.run(
        ensure_image(image),
        name=name,
        hostname=name,
        detach=True,
        network=NETWORK,
        cap_add=["SYS_ADMIN"],
        security_opt=["seccomp=unconfined"],
        cgroupns="host",
        volumes=volumes,
        tmpfs={"/run": "", "/run/lock": ""},
        stop_signal="SIGRTMIN+3",
        ports={f"{inside}/tcp": ("127.0.0.1", outside) for inside, outside in (publish or {}).items()},
    )
    wait_for_boot(container)
    return container


def wait_for_boot(container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = container.exec_run("systemctl is-system-running").output.decode().strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{container.name}: systemd did not finish booting ({state!r})")


@dataclass
class DeployRun:
    returncode: int
    results: dict | None
    stderr: str

    @property
    def changed(self) -> int:
        """Host-operations that changed something, as pyinfra counts them."""
        return self.results["totals"]["success"]

    @property
    def changed_operations(self) -> list[str]:
        return [op["name"] for op in self.results["operations"] if op["success"]]


def pyinfra_command(*data: str, json_output: bool = True) -> list[str]:
    """``pyinfra -y [--json] [--data k=v ...] inventory.py deploy.py``, as users run it."""
    command = [str(ROOT / ".venv" / "bin" / "pyinfra"), "-y"] + (["--json"] if json_output else [])
    for item in data:
        command += ["--data", item]
    return command + ["inventory.py", "deploy.py"]


def deploy(container: str, *data: str) -> DeployRun:
    """Deploy to the lab container ``container`` and collect pyinfra's JSON results."""
    completed = subprocess.run(
        pyinfra_command(*data),
        cwd=ROOT,
        env={**os.environ, "HORIZON_LAB_CONTAINER": container},
        capture_output=True,
        text=True,
    )
    try:
        results = json.loads(completed.stdout)["results"]
    except (json.JSONDecodeError, KeyError, TypeError):
        results = None
    return DeployRun(completed.returncode, results, completed.stderr)
