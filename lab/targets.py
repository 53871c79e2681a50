"""Systemd containers that stand in for real hosts: for the lab and for the integration tests.

No registry is reachable here, so images come from ``lab/build-image.sh`` (debootstrap +
``docker import``). Containers boot systemd as PID 1 with the smallest set of privileges that
works on these machines (``--privileged`` does not), on a network of their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.models.containers import Container

ROOT = Path(__file__).resolve().parent.parent
NETWORK = "horizon-lab"
# Downloaded .debs are kept by an apt-cacher-ng container on the lab network, between
# containers and runs: the packages are still the distribution's real ones, installed by the
# deploy, only not fetched twice. A proxy rather than a shared /var/cache/apt/archives, because
# apt locks that directory and several targets install packages at the same time.
APT_PROXY = "horizon-lab-apt-cache"
APT_PROXY_IMAGE = "horizon-lab/apt-cache"
APT_PROXY_STORE = Path(os.environ.get("HORIZON_LAB_APT_CACHE", "/var/cache/horizon-lab/apt-cacher-ng"))
DEBIAN_ARCHIVE = "deb.debian.org"


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


@contextlib.contextmanager
def lab_lock():
    """Held while the shared pieces (network, apt cache) are checked and created: the test
    suite's workers start containers at the same time."""
    with open("/tmp/horizon-lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_network() -> None:
    docker_client = client()
    with lab_lock():
        if not docker_client.networks.list(names=[NETWORK]):
            docker_client.networks.create(NETWORK, driver="bridge")


def remove(name: str) -> None:
    try:
        client().containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def ensure_apt_proxy() -> None:
    """The apt-cacher-ng container, running; its image is built from the Debian 12 one once."""
    docker_client = client()
    with lab_lock():
        try:
            if docker_client.containers.get(APT_PROXY).status == "running":
                return
            remove(APT_PROXY)
        except docker.errors.NotFound:
            pass
        start_apt_proxy(docker_client)


def start_apt_proxy(docker_client: docker.DockerClient) -> None:
    if not docker_client.images.list(name=APT_PROXY_IMAGE):
        builder = docker_client.containers.run(ensure_image("debian:12"), ["sleep", "infinity"], detach=True)
        try:
            installed = builder.exec_run(
                "sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends apt-cacher-ng'",
                environment={"DEBIAN_FRONTEND": "noninteractive"},
            )
            if installed.exit_code != 0:
                raise RuntimeError(f"building {APT_PROXY_IMAGE}: {installed.output.decode()[-2000:]}")
            builder.commit(APT_PROXY_IMAGE, changes=['CMD ["apt-cacher-ng", "-c", "/etc/apt-cacher-ng", "ForeGround=1"]'])
        finally:
            builder.remove(force=True)
    APT_PROXY_STORE.mkdir(parents=True, exist_ok=True)
    docker_client.containers.run(
        APT_PROXY_IMAGE,
        # Release files pass through uncached: two containers refreshing one in the same second
        # made apt-cacher-ng fail both ("Failure to move file ... out of the way") and apt hang
        # in 2 of 8 fleet containers. Everything they point to is fetched by hash (Debian's
        # archives publish Acquire-By-Hash), under names that never change, so cached safely.
        ["apt-cacher-ng", "-c", "/etc/apt-cacher-ng", "ForeGround=1", r"DontCacheRequested=/(In)?Release(\.gpg)?$"],
        name=APT_PROXY,
        detach=True,
        network=NETWORK,
        volumes={str(APT_PROXY_STORE): {"bind": "/var/cache/apt-cacher-ng", "mode": "rw"}},
    )


def start(name: str, image: str, publish: dict[int, int] | None = None) -> Container:
    """Start a fresh systemd container ``name`` from ``image`` and wait until systemd has booted."""
    remove(name)
    ensure_network()
    ensure_apt_proxy()
    container = client().containers.run(
        ensure_image(image),
        name=name,
        hostname=name,
        detach=True,
        network=NETWORK,
        cap_add=["SYS_ADMIN"],
        security_opt=["seccomp=unconfined"],
        cgroupns="host",
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        tmpfs={"/run": "", "/run/lock": ""},
        stop_signal="SIGRTMIN+3",
        ports={f"{inside}/tcp": ("127.0.0.1", outside) for inside, outside in (publish or {}).items()},
    )
    # Only Debian's archive goes through the cache; any other repository is reached directly.
    # Several containers asking the cache for the same index at once made apt fail ("Failure to
    # move file ... out of the way") or wait forever: retry, and give up on a silent download.
    apt_settings = [
        f'Acquire::http::Proxy::{DEBIAN_ARCHIVE} "http://{APT_PROXY}:3142";',
        'Acquire::Retries "3";',
        'Acquire::http::Timeout "30";',
    ]
    container.exec_run(["sh", "-c", 'printf "%s\\n" "$@" >/etc/apt/apt.conf.d/00horizon-lab-cache', "sh", *apt_settings])
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
    stdout: str
    stderr: str

    @property
    def changed(self) -> int:
        """Host-operations that changed something, as pyinfra counts them."""
        return self.results["totals"]["success"]

    @property
    def changed_operations(self) -> list[str]:
        return [op["name"] for op in self.results["operations"] if op["success"]]


def pyinfra_command(*data: str, json_output: bool = True, inventory: str = "inventory.py", deploy: str = "deploy.py") -> list[str]:
    """``pyinfra -y [--json] [--data k=v ...] INVENTORY DEPLOY``, as users run it."""
    command = [str(ROOT / ".venv" / "bin" / "pyinfra"), "-y"] + (["--json"] if json_output else [])
    for item in data:
        command += ["--data", item]
    return command + [inventory, deploy]


def start_deploy(*data: str, inventory: str = "inventory.py", env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``deploy.py`` against ``inventory``; its output is collected by ``finish_deploy``."""
    return subprocess.Popen(
        pyinfra_command(*data, inventory=inventory),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_deploy(process: subprocess.Popen, on_stderr_line: Callable[[str], None] | None = None) -> DeployRun:
    """Wait for a started deploy and collect pyinfra's JSON results; ``on_stderr_line`` sees
    each line of pyinfra's progress as it is printed."""
    if on_stderr_line is None:
        stdout, stderr = process.communicate()
    else:
        lines: list[str] = []

        def follow() -> None:
            for line in process.stderr:
                lines.append(line)
                on_stderr_line(line)

        reader = threading.Thread(target=follow)
        reader.start()
        stdout = process.stdout.read()
        process.wait()
        reader.join()
        stderr = "".join(lines)
    try:
        results = json.loads(stdout)["results"]
    except (json.JSONDecodeError, KeyError, TypeError):
        results = None
    return DeployRun(process.returncode, results, stdout, stderr)


def run_deploy(*data: str, inventory: str = "inventory.py", env: dict[str, str] | None = None) -> DeployRun:
    """Run ``deploy.py`` against ``inventory`` and collect pyinfra's JSON results."""
    return finish_deploy(start_deploy(*data, inventory=inventory, env=env))


def lab_environment(container: str) -> dict[str, str]:
    """What makes the default inventory deploy to the lab container ``container``."""
    return {"HORIZON_LAB_CONTAINER": container}


def ad_hoc(container: str, *arguments: str) -> subprocess.CompletedProcess:
    """``pyinfra -y ARGUMENTS`` (an inventory and ad hoc operations) with the default inventory
    pointing at the lab container ``container``."""
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pyinfra"), "-y", *arguments],
        cwd=ROOT,
        env={**os.environ, **lab_environment(container)},
        capture_output=True,
        text=True,
    )


def deploy(container: str, *data: str, env: dict[str, str] | None = None) -> DeployRun:
    """Deploy to the lab container ``container`` through the default inventory, with ``env``
    added to the environment."""
    return run_deploy(*data, env={**lab_environment(container), **(env or {})})
