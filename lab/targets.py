"""Systemd containers that stand in for real hosts: for the lab and for the integration tests.

No registry is reachable here, so images come from ``lab/build-image.sh`` (debootstrap +
``docker import``). Containers boot systemd as PID 1 with the smallest set of privileges that
works on these machines (``--privileged`` does not), on a network of their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import jinja2
from docker.models.containers import Container

ROOT = Path(__file__).resolve().parent.parent
NETWORK = "horizon-lab"
# Downloaded .debs are kept by a caching proxy (NGINX) on the lab network, between containers
# and runs: the packages are still the distribution's real ones, installed by the deploy, only
# not fetched twice. A proxy rather than a shared /var/cache/apt/archives, because apt locks
# that directory and several targets install packages at the same time.
PACKAGE_CACHE = "horizon-lab-package-cache"
PACKAGE_CACHE_IMAGE = "horizon-lab/package-cache"
PACKAGE_CACHE_PORT = 3142
PACKAGE_CACHE_STORE = Path(os.environ.get("HORIZON_LAB_PACKAGE_CACHE", "/var/cache/horizon-lab/packages"))
# pip's cache, one per image, shared by its containers (pip's site-wide configuration names it):
# the first host of an image downloads and compiles uWSGI, the others install that wheel.
PIP_CACHE_STORE = PACKAGE_CACHE_STORE.parent / "pip"
PIP_CACHE = "/var/cache/horizon-lab-pip"
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
    """The local tag for ``name`` (``debian:12``), built once for each version of
    ``build-image.sh``; other names are used as they are."""
    image = IMAGES.get(name)
    if image is None:
        return name
    script = ROOT / "lab" / "build-image.sh"
    tag = f"{image.tag}-{hashlib.sha256(script.read_bytes()).hexdigest()[:12]}"
    subprocess.run([str(script), image.suite, tag], check=True)
    return tag


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


def ensure_package_cache() -> None:
    """The package cache container, running and able to fetch the archive's indexes."""
    docker_client = client()
    with lab_lock():
        try:
            if docker_client.containers.get(PACKAGE_CACHE).status != "running":
                remove(PACKAGE_CACHE)
                start_package_cache(PACKAGE_CACHE, PACKAGE_CACHE_STORE)
        except docker.errors.NotFound:
            start_package_cache(PACKAGE_CACHE, PACKAGE_CACHE_STORE)
    check_package_cache(PACKAGE_CACHE)


def package_cache_config(store: str) -> str:
    template = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "lab" / "templates"), keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    ).get_template("package-cache.conf.j2")
    return template.render(archive=DEBIAN_ARCHIVE, store=store, port=PACKAGE_CACHE_PORT, max_size="40g")


def start_package_cache(name: str, store: Path) -> Container:
    """Start the package cache ``name`` keeping its files in ``store`` on this machine; its image
    (Debian 12's NGINX) is built once."""
    docker_client = client()
    if not docker_client.images.list(name=PACKAGE_CACHE_IMAGE):
        builder = docker_client.containers.run(ensure_image("debian:12"), ["sleep", "infinity"], detach=True)
        try:
            installed = builder.exec_run(
                "sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends nginx-light"
                " && rm /etc/nginx/sites-enabled/default'",
                environment={"DEBIAN_FRONTEND": "noninteractive"},
            )
            if installed.exit_code != 0:
                raise RuntimeError(f"building {PACKAGE_CACHE_IMAGE}: {installed.output.decode()[-2000:]}")
            builder.commit(PACKAGE_CACHE_IMAGE, changes=['CMD ["nginx", "-g", "daemon off;"]'])
        finally:
            builder.remove(force=True)
    store.mkdir(parents=True, exist_ok=True)
    config = store.with_name(f"{store.name}.nginx.conf")
    config.write_text(package_cache_config("/var/cache/package-cache"))
    return docker_client.containers.run(
        PACKAGE_CACHE_IMAGE,
        # NGINX's workers (www-data) write the cache: hand them the store first.
        ["sh", "-c", 'chown www-data: /var/cache/package-cache && exec nginx -g "daemon off;"'],
        name=name,
        detach=True,
        network=NETWORK,
        volumes={
            str(store): {"bind": "/var/cache/package-cache", "mode": "rw"},
            str(config): {"bind": "/etc/nginx/conf.d/package-cache.conf", "mode": "ro"},
        },
    )


def check_package_cache(name: str, suite: str = IMAGES["debian:12"].suite, timeout: float = 60) -> None:
    """Fetch ``suite``'s InRelease through the cache ``name`` as apt would, or fail saying so:
    a broken cache otherwise shows up as a failed deploy ("No hosts remaining!")."""
    container = client().containers.get(name)
    url = f"http://{DEBIAN_ARCHIVE}/debian/dists/{suite}/InRelease"
    probe = (
        "import sys, urllib.request\n"
        f"proxy = urllib.request.ProxyHandler({{'http': 'http://127.0.0.1:{PACKAGE_CACHE_PORT}'}})\n"
        "try:\n"
        f"    print(urllib.request.build_opener(proxy).open({url!r}, timeout={timeout}).status)\n"
        "except Exception as error:\n"
        "    print(error)\n"
    )
    deadline = time.monotonic() + timeout
    answer = ""
    # NGINX may still be starting: a refused connection is retried, an answer is final.
    while time.monotonic() < deadline:
        answer = container.exec_run(["python3", "-c", probe]).output.decode().strip()
        if "Connection refused" not in answer:
            break
        time.sleep(0.5)
    if answer != "200":
        raise RuntimeError(
            f"the lab's package cache is broken: {name} answered {answer!r} for {url} "
            f"(its log: docker exec {name} tail /var/log/nginx/package-cache.log /var/log/nginx/error.log)"
        )


def start(name: str, image: str, publish: dict[int, int] | None = None, apt_proxy: str = PACKAGE_CACHE) -> Container:
    """Start a fresh systemd container ``name`` from ``image``, reaching Debian's archive through
    the package cache ``apt_proxy``, and wait until systemd has booted."""
    remove(name)
    ensure_network()
    if apt_proxy == PACKAGE_CACHE:
        ensure_package_cache()
    container = client().containers.run(
        ensure_image(image),
        name=name,
        hostname=name,
        detach=True,
        network=NETWORK,
        cap_add=["SYS_ADMIN"],
        security_opt=["seccomp=unconfined"],
        cgroupns="host",
        volumes={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            str(PIP_CACHE_STORE / image.replace(":", "-")): {"bind": PIP_CACHE, "mode": "rw"},
        },
        tmpfs={"/run": "", "/run/lock": ""},
        stop_signal="SIGRTMIN+3",
        ports={f"{inside}/tcp": ("127.0.0.1", outside) for inside, outside in (publish or {}).items()},
    )
    # Only Debian's archive goes through the cache; any other repository is reached directly.
    # A download that stalls is given up and retried rather than waited on forever.
    apt_settings = [
        f'Acquire::http::Proxy::{DEBIAN_ARCHIVE} "http://{apt_proxy}:{PACKAGE_CACHE_PORT}";',
        'Acquire::Retries "3";',
        'Acquire::http::Timeout "30";',
    ]
    container.exec_run(["sh", "-c", 'printf "%s\\n" "$@" >/etc/apt/apt.conf.d/00horizon-lab-cache', "sh", *apt_settings])
    container.exec_run(["sh", "-c", f'printf "[global]\\ncache-dir = {PIP_CACHE}\\n" >/etc/pip.conf'])
    wait_for_boot(container)
    return container


def address(name: str) -> str:
    """The container's address on the lab network (this machine reaches it too)."""
    return client().containers.get(name).attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]


# Hosts reached over SSH log in as this user, with the lab's key, and become root with sudo:
# the `debian` or `ubuntu` user of a cloud image. Another user, with no sudo, stands for
# everyone else on a shared host.
SSH_USER = "deploy"
SSH_KEY = Path(os.environ.get("HORIZON_LAB_SSH_KEY", "/var/cache/horizon-lab/ssh/id_ed25519"))
OTHER_USER = "someone-else"


def ensure_ssh_key() -> Path:
    """The lab's SSH key (ed25519, no passphrase), made once on this machine."""
    with lab_lock():
        if not SSH_KEY.exists():
            SSH_KEY.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "horizon-lab", "-f", str(SSH_KEY)], check=True)
    return SSH_KEY


def open_ssh(container: Container, sudo_password: str | None = None) -> int:
    """Give ``container`` the SSH user (the lab's key; sudo for everything, asking for
    ``sudo_password`` when one is given) and the other user; the port its SSH server answers
    on this machine's loopback (published as 22 when the container started)."""
    public_key = ensure_ssh_key().with_suffix(".pub").read_text().strip()
    rule = f"{SSH_USER} ALL=(ALL:ALL) {'ALL' if sudo_password else 'NOPASSWD: ALL'}"
    setup = (
        f"set -e; useradd --create-home --shell /bin/bash {SSH_USER}; useradd --create-home --shell /bin/bash {OTHER_USER}; "
        f"install -d -m 0700 -o {SSH_USER} -g {SSH_USER} /home/{SSH_USER}/.ssh; "
        f'printf "%s\\n" "$1" >/home/{SSH_USER}/.ssh/authorized_keys; '
        f"chown {SSH_USER}: /home/{SSH_USER}/.ssh/authorized_keys; chmod 0600 /home/{SSH_USER}/.ssh/authorized_keys; "
        f'printf "%s\\n" "$2" >/etc/sudoers.d/{SSH_USER}; chmod 0440 /etc/sudoers.d/{SSH_USER}; visudo -cq'
    )
    done = container.exec_run(["sh", "-c", setup, "sh", public_key, rule])
    if done.exit_code != 0:
        raise RuntimeError(f"{container.name}: SSH user: {done.output.decode()}")
    if sudo_password:
        # On chpasswd's standard input, never on a command line.
        subprocess.run(["docker", "exec", "-i", container.name, "chpasswd"], input=f"{SSH_USER}:{sudo_password}\n", text=True, check=True)
    container.reload()
    return int(container.ports["22/tcp"][0]["HostPort"])


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


def pyinfra_command(
    *data: str, json_output: bool = True, inventory: str = "inventory.py", deploy: str = "deploy.py", flags: tuple[str, ...] = ()
) -> list[str]:
    """``pyinfra -y [--json] [FLAGS] [--data k=v ...] INVENTORY DEPLOY``, as users run it."""
    command = [str(ROOT / ".venv" / "bin" / "pyinfra"), "-y", *flags] + (["--json"] if json_output else [])
    for item in data:
        command += ["--data", item]
    return command + [inventory, deploy]


def start_deploy(
    *data: str, inventory: str = "inventory.py", env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
) -> subprocess.Popen:
    """Start ``deploy.py`` against ``inventory``; its output is collected by ``finish_deploy``."""
    return subprocess.Popen(
        pyinfra_command(*data, inventory=inventory, flags=flags),
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


def run_deploy(
    *data: str, inventory: str = "inventory.py", env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
) -> DeployRun:
    """Run ``deploy.py`` against ``inventory`` and collect pyinfra's JSON results."""
    return finish_deploy(start_deploy(*data, inventory=inventory, env=env, flags=flags))


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
