"""Serving speed: NGINX + uWSGI against Apache + mod_wsgi (stock and tuned), interleaved.

All three serve the lab container's one Horizon (same settings, code and static files, same
certificate); wrk runs inside the container. For each workload, each server gets a warm-up run,
then the rounds go server after server, the order turning each round, so that whatever else the
machine does falls on all three alike. The memory of each server's processes is sampled halfway
through each run.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
from dataclasses import dataclass

from benchmarks import copy_script, lab_container
from benchmarks.apache import APACHE_STOCK, APACHE_TUNED, NGINX_UWSGI, Server, serve_with_apache_too
from benchmarks.wrk import WrkResult, run, wrk
from inventory import LAB_KEYSTONE, LAB_PORT
from lab import identity, targets
from operations.layout import TLS_CERTIFICATE
from tests.integration.dashboard import LOGIN, PROJECTS, DashboardUser, static_asset, title

SERVERS = (NGINX_UWSGI, APACHE_STOCK, APACHE_TUNED)
# Browsers accept gzip; so does every request here.
BROWSER_HEADERS = {"Accept-Encoding": "gzip"}
# Resident (RSS) and proportional (PSS: shared pages divided among their users) memory of the
# processes of the given units, in MiB.
MEMORY = """
import os, sys
units, rss, pss = set(sys.argv[1:]), 0, 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if not any(line.rsplit("/", 1)[-1] in units for line in open(f"/proc/{pid}/cgroup").read().split()):
            continue
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith(("Rss:", "Pss:")):
                rss, pss = (rss + int(line.split()[1]), pss) if line.startswith("Rss") else (rss, pss + int(line.split()[1]))
    except OSError:
        pass
print(rss // 1024, pss // 1024)
"""
# Requests still in flight when wrk stops are served to the end (the slow logged-in page keeps
# every worker busy for seconds): the next run waits until the machine's CPUs are quiet.
SETTLE = """
import time
def busy():
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    (work, total), _ = busy(), time.sleep(0.5)
    work2, total2 = busy()
    if (work2 - work) / max(1, total2 - total) < 0.1:
        break
"""
# What a first visit to the page makes (as inprocess.py does in-process).
STATUS = """
import http.client, ssl, sys
connection = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ssl._create_unverified_context())
connection.request("GET", sys.argv[2], headers={"Cookie": sys.argv[3]} if len(sys.argv) > 3 else {})
response = connection.getresponse()
print(response.status, response.read().decode(errors="replace").split("<title>", 1)[-1].split("</title>", 1)[0].strip())
"""


@dataclass(frozen=True)
class Workload:
    name: str
    path: str
    cookie: str = ""


@dataclass(frozen=True)
class Figures:
    """A workload on a server: medians over the rounds, errors summed, memory at its largest."""

    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mib: int
    pss_mib: int


def memory(container, server: Server) -> tuple[int, int]:
    rss, pss = run(container, f"python3 -c '{MEMORY}' {' '.join(server.units)}").split()
    return int(rss), int(pss)


def measured_run(container, server: Server, workload: Workload, connections: int, seconds: int):
    """One wrk run on a quiet machine, and the server's memory halfway through it."""
    run(container, f"python3 -c '{SETTLE}'")
    headers = {**BROWSER_HEADERS, **({"Cookie": workload.cookie} if workload.cookie else {})}
    sample = {}
    sampler = threading.Timer(seconds / 2, lambda: sample.update(memory=memory(container, server)))
    sampler.start()
    result = wrk(container, f"https://localhost:{server.port}{workload.path}", connections, seconds, headers)
    sampler.join()
    return result, sample["memory"]


def page_title(container, server: Server, workload: Workload) -> str:
    """Status and title of one request for the workload (wrk counts a redirect as a success)."""
    arguments = [str(server.port), workload.path] + ([workload.cookie] if workload.cookie else [])
    quoted = " ".join(f"'{argument}'" for argument in arguments)
    return run(container, f"python3 -c '{STATUS}' {quoted}").strip()


def visit(container) -> tuple[str, str]:
    """Visit the lab dashboard through NGINX as its admin: the login page's first stylesheet,
    and the logged-in session's cookie (sessions live in memcached: every server takes it)."""
    password = admin_password()
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as certificate:
        certificate.write(run(container, f"cat {TLS_CERTIFICATE}"))
        certificate.flush()
        user = DashboardUser(f"https://localhost:{LAB_PORT}/", certificate.name)
        asset = static_asset(user.get(LOGIN).text)
        page = user.login(identity.ADMIN, password)
        if title(page.text) != PROJECTS:
            raise RuntimeError(f"could not log in to the lab dashboard: {page.status_code} {title(page.text)!r}")
        return asset, "; ".join(f"{name}={value}" for name, value in user.http.cookies.items())


def admin_password() -> str:
    """The lab Keystone's admin password, from its clouds.yaml secrets."""
    secure = run(targets.client().containers.get(LAB_KEYSTONE), "cat /root/.config/openstack/secure.yaml")
    return json.loads(secure)["clouds"]["lab"]["auth"]["password"]


def prepare(log) -> tuple:
    """The lab container with both Apache variants running beside the deploy's site."""
    container = lab_container("wrk")
    # Identity alone, for the measurement: the logged-in page's answer then depends on Keystone
    # and nothing else the lab runs.
    lab_keystone().set_services([])
    serve_with_apache_too(container, log)
    asset, cookie = visit(container)
    workloads = [
        Workload("Login page", f"/{LOGIN}"),
        Workload("Static asset", asset),
        Workload("Identity → Projects", "/identity/", cookie=cookie),
    ]
    for workload in workloads:
        for server in SERVERS:
            seen = page_title(container, server, workload)
            if not seen.startswith("200"):
                raise RuntimeError(f"{server.name} answers {workload.path} with {seen!r}")
    if not page_title(container, NGINX_UWSGI, workloads[2]).endswith(PROJECTS):
        raise RuntimeError("the logged-in workload does not reach the Projects page")
    return container, workloads


def lab_keystone() -> identity.Keystone:
    return identity.Keystone(LAB_KEYSTONE, admin_password="")


def in_process_limit(container, seconds: int) -> tuple[float, int, float]:
    """Login pages per second with no server: on one core alone, the cores of the container,
    and all cores at once (one process pinned to each: what they can do together)."""
    script = copy_script(container, "inprocess.py")
    pinned = f"cd /tmp && runuser -u horizon -- taskset -c {{core}} python3 {script} {seconds}"
    one = float(run(container, pinned.format(core=0)))
    cores = int(run(container, "nproc"))
    together = " & ".join(pinned.format(core=core) for core in range(cores)) + "; wait"
    return one, cores, sum(float(rate) for rate in run(container, together).split())


def measure(rounds: int, seconds: int, connections: int, log) -> dict:
    try:
        return measure_prepared(*prepare(log), rounds, seconds, connections, log)
    finally:
        lab_keystone().set_services(identity.LAB_CATALOG)


def measure_prepared(container, workloads: list[Workload], rounds: int, seconds: int, connections: int, log) -> dict:
    limit, cores, together = in_process_limit(container, seconds)
    log(f"in-process limit: {limit:.0f} login pages/s on one core, {cores} cores, {together:.0f}/s on all at once")
    results: dict[tuple[str, str], list[tuple[WrkResult, tuple[int, int]]]] = {}
    for workload in workloads:
        for server in SERVERS:
            measured_run(container, server, workload, connections, max(3, seconds // 2))
    for number in range(rounds):
        order = SERVERS[number % 3:] + SERVERS[:number % 3]
        for workload in workloads:
            for server in order:
                result, sample = measured_run(container, server, workload, connections, seconds)
                results.setdefault((workload.name, server.name), []).append((result, sample))
                log(f"round {number + 1}, {workload.name}, {server.name}: {result.per_second:.0f}/s, "
                    f"p99 {result.p99_ms:.0f} ms, {result.errors} errors, RSS {sample[0]} MiB")
    figures = {
        key: Figures(
            per_second=statistics.median(r.per_second for r, _ in runs),
            p50_ms=statistics.median(r.p50_ms for r, _ in runs),
            p99_ms=statistics.median(r.p99_ms for r, _ in runs),
            errors=sum(r.errors for r, _ in runs),
            rss_mib=max(m[0] for _, m in runs),
            pss_mib=max(m[1] for _, m in runs),
        )
        for key, runs in results.items()
    }
    return {
        "workloads": [w.name for w in workloads],
        "servers": [s.name for s in SERVERS],
        "figures": figures,
        "limit": limit,
        "cores": cores,
        "together": together,
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
    }
