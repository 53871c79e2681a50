"""Changes rolled out while people use the dashboard:
``HORIZON_LAB_ADMIN_PASSWORD=... benchmarks/rollout [--visitors 3] [--users 2] [--fleet N]``.

Run lab/up first (it prints the admin password). Without ``--fleet``, against the lab's one
host; with ``--fleet N``, against N fresh dashboard containers behind the bundled HAProxy
(``horizon-bench-rollout-*``, deployed once in one run with the lab's Keystone, removed at the
end). For each change below, the deploy runs while anonymous visitors fetch the login page and
every asset it names, and logged-in users (real sessions from the lab Keystone) fetch Identity →
Projects, for the whole run and 10 s after it (tests/integration/traffic.py). It prints, per
change, how long the run took and what users saw: requests served, failed answers, assets
missing, users logged out, the longest answer, and the requests sent again on a new connection
as a browser does (a kept-alive connection NGINX closed as it reloaded); for a fleet, also how
long HAProxy had each host out of rotation, and the most hosts it had out at once. Figures
only: nothing here passes or fails, and a shared machine may be slow.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from benchmarks import lab_container
from inventory import LAB_CONTAINER, LAB_DATA, LAB_PORT
from lab import identity, targets
from operations.layout import TLS_CERTIFICATE
from tests.integration.dashboard import HAND_EDITED_UNIT, PROJECTS, DashboardUser, theme_made_default, title
from tests.integration.traffic import RotationWatch, Traffic

FLEET_PREFIX = "horizon-bench-rollout-"
FLEET_PORT = 8444
# As tests/integration/test_fleet.py: a shared secret and certificate, and a login rate for
# users who all come from the load balancer's address.
FLEET_INVENTORY = """
import os

shared = {{**{data!r}, "horizon_secret_key": os.environ["HORIZON_BENCH_SECRET_KEY"], "horizon_tls_certificate": "{certificate}",
          "horizon_tls_key": "{key}", "horizon_login_rate": 600}}
horizon = [(name, shared) for name in {hosts!r}]
horizon_loadbalancers = [("{balancer}", {data!r})]
"""


def changes(directory: Path) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(what changes, the data that changes it, a command run on each host first); the fourth and
    the last but one put the defaults back."""

    def theme(colour: str) -> tuple[str, ...]:
        return ("horizon_site_branding=Rolled Out", *theme_made_default(directory, colour))

    return [
        ("NGINX only (static files' max-age)", ("horizon_static_max_age=600",), None),
        ("the site's name and a theme, the default: reload and static build", theme("#123456"), None),
        ("the theme's stylesheet changed: reload and static build", theme("#654321"), None),
        ("all back to the defaults", (), None),
        ("memcached's memory: each memcached restarts, given back its sessions by the other", ("horizon_memcached_memory=96",), None),
        ("memcached's memory back", (), None),
        ("horizon.service edited by hand, written back: restart", (), HAND_EDITED_UNIT),
    ]


@dataclass
class Site:
    """Where users reach the dashboard, how to deploy it with more data, and its hosts."""

    url: str
    certificate: str
    deploy: Callable[..., targets.DeployRun]
    hosts: list
    balancer: object | None = None


def container_run(container) -> Callable[[str], str]:
    return lambda command: container.exec_run(["sh", "-c", command]).output.decode(errors="replace")


def lab_site() -> Site:
    container = lab_container()
    certificate = f"/tmp/{LAB_CONTAINER}-certificate.pem"
    Path(certificate).write_bytes(container.exec_run(["cat", TLS_CERTIFICATE]).output)
    return Site(f"https://localhost:{LAB_PORT}/", certificate, lambda *data: targets.deploy(LAB_CONTAINER, *data), [container])


@contextmanager
def fleet_site(size: int, directory: Path) -> Iterator[Site]:
    names = [f"{FLEET_PREFIX}{number}" for number in range(1, size + 1)]
    balancer_name = f"{FLEET_PREFIX}lb"
    certificate, key = directory / "dashboard.pem", directory / "dashboard.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    inventory = directory / "inventory.py"
    inventory.write_text(FLEET_INVENTORY.format(
        data=LAB_DATA, certificate=certificate, key=key, hosts=[f"@docker/{name}" for name in names], balancer=f"@docker/{balancer_name}"
    ))
    env = {"HORIZON_BENCH_SECRET_KEY": secrets.token_urlsafe(48)}

    def deploy(*data: str) -> targets.DeployRun:
        return targets.run_deploy(*data, inventory=str(inventory), env=env)

    try:
        hosts = [targets.start(name, "debian:12") for name in names]
        balancer = targets.start(balancer_name, "debian:12", publish={443: FLEET_PORT})
        print(f"deploying {size} dashboard hosts and HAProxy", file=sys.stderr)
        cold = deploy()
        if cold.returncode != 0:
            raise SystemExit(f"the fleet's first deploy failed:\n{cold.stderr[-2000:]}")
        # HAProxy may have marked the hosts down before they served: back after two good checks.
        time.sleep(6)
        yield Site(f"https://localhost:{FLEET_PORT}/", str(certificate), deploy, hosts, balancer)
    finally:
        for name in [*names, balancer_name]:
            targets.remove(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=3, help="anonymous visitors (default: 3)")
    parser.add_argument("--users", type=int, default=2, help="logged-in users (default: 2)")
    parser.add_argument("--fleet", type=int, default=0, help="N fresh dashboard hosts behind HAProxy instead of the lab")
    options = parser.parse_args()
    password = os.environ.get("HORIZON_LAB_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("HORIZON_LAB_ADMIN_PASSWORD is not set: lab/up prints the admin password")
    directory = Path(tempfile.mkdtemp(prefix="rollout-"))
    if options.fleet:
        with fleet_site(options.fleet, directory) as site:
            measure(site, options, password, directory)
    else:
        measure(lab_site(), options, password, directory)
    return 0


def measure(site: Site, options, password: str, directory: Path) -> None:
    users = [DashboardUser(site.url, site.certificate) for _ in range(options.users)]
    for user in users:
        if title(user.login(identity.ADMIN, password).text) != PROJECTS:
            raise SystemExit(f"could not log in as {identity.ADMIN} with HORIZON_LAB_ADMIN_PASSWORD")
    where = f"{len(site.hosts)} hosts behind HAProxy" if site.balancer else "the lab's host"
    people = f"{options.visitors} anonymous visitors and {options.users} logged-in users"
    print(f"{where}; {people}, during each run and 10 s after", file=sys.stderr)
    fleet_columns = " out of rotation s, per host | most out at once |" if site.balancer else ""
    print(f"| change | run s | requests | failed | assets missing | logged out | longest s | resent |{fleet_columns}")
    print("| --- " * (8 + (2 if site.balancer else 0)) + "|")
    for change, data, first in changes(directory):
        for host in site.hosts if first else ():
            host.exec_run(["sh", "-c", first])
        rotation = RotationWatch(container_run(site.balancer)) if site.balancer else None
        with rotation or nullcontext(), Traffic(site.url, site.certificate, options.visitors, users) as traffic:
            started = time.monotonic()
            run = site.deploy(*data)
            seconds = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"the run for {change} failed:\n{run.stderr[-2000:]}")
        figures = traffic.figures
        row = (
            f"| {change} | {seconds:.0f} | {figures.requests} | {len(figures.failures)} | {len(figures.missing_assets)} "
            f"| {figures.logged_out} | {figures.longest:.2f} | {figures.resent} |"
        )
        if rotation:
            out = rotation.seconds_out()
            row += f" {', '.join(f'{seconds:.0f}' for _, seconds in sorted(out.items())) or '0'} | {max(map(len, rotation.samples))} |"
        print(row, flush=True)
        for failure in (figures.failures + figures.missing_assets)[:5]:
            print(f"  e.g. {failure}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
