"""Image uploads in the legacy mode: NGINX + uWSGI against Apache + mod_wsgi (stock and tuned),
interleaved, through the lab's real Glance.

The three servers serve the lab container's one Horizon, as in ``serving.py``. The client runs
in the container too (``upload_client.py``), posting a file of random bytes as the Images
panel's form does; each upload is timed until the answer and until Glance has all of it, its
checksum checked, and the server's processes' memory sampled every half second meanwhile (its
largest resident and proportional sizes, and how far the resident size grew over the idle
server's, each server warmed with login pages first). Rounds go server after server, the order
turning each round.
"""

from __future__ import annotations

import json
import statistics
import threading
from dataclasses import dataclass

from benchmarks import copy_script, lab_container
from benchmarks.apache import APACHE_STOCK, APACHE_TUNED, NGINX_UWSGI, Server, serve_with_apache_too
from benchmarks.serving import SETTLE, lab_keystone, memory, visit
from benchmarks.wrk import run, wrk
from inventory import LAB_KEYSTONE
from lab import identity, targets
from tests.integration.dashboard import LOGIN

SERVERS = (NGINX_UWSGI, APACHE_STOCK, APACHE_TUNED)
# Where the images to upload are made, on disk, beside Horizon's own temporary files.
IMAGES = "/var/tmp/horizon-upload-benchmark"
DELETE = "import openstack, sys; openstack.connect(cloud='lab').image.delete_image(sys.argv[1], ignore_missing=True)"


@dataclass(frozen=True)
class Upload:
    """One upload: the answer's status; seconds until it, and until Glance had it all (None
    without a 201); whether Glance's checksum matched; the server's memory meanwhile (MiB)."""

    status: int
    answered: float
    settled: float | None
    intact: bool
    rss_mib: int
    pss_mib: int
    grown_mib: int


class Sampler(threading.Thread):
    """The server's memory every half second until stopped: the largest RSS and PSS seen."""

    def __init__(self, container, server: Server):
        super().__init__()
        self.container, self.server, self.stopped, self.peak = container, server, threading.Event(), (0, 0)

    def run(self):
        while not self.stopped.wait(0.5):
            rss, pss = memory(self.container, self.server)
            self.peak = (max(self.peak[0], rss), max(self.peak[1], pss))


def upload(container, client: str, server: Server, cookie: str, mib: int, checksum: str, name: str) -> Upload:
    run(container, f"python3 -c '{SETTLE}'")
    idle_rss, _ = memory(container, server)
    sampler = Sampler(container, server)
    sampler.start()
    try:
        output = run(container, f"python3 {client} {server.port} '{cookie}' {IMAGES}/{mib}.raw {name}")
    finally:
        sampler.stopped.set()
        sampler.join()
    result = json.loads(output)
    if "id" in result:
        run(targets.client().containers.get(LAB_KEYSTONE), f'python3 -c "{DELETE}" {result["id"]}')
    rss, pss = sampler.peak
    return Upload(
        status=result["status"],
        answered=result["answered"],
        settled=result.get("settled"),
        intact=result.get("image_status") == "active" and result.get("checksum") == checksum,
        rss_mib=rss,
        pss_mib=pss,
        grown_mib=max(0, rss - idle_rss),
    )


def prepare(sizes: list[int], log) -> tuple:
    """The lab container with both Apache variants beside the deploy's site, Glance in the
    catalog, the client in place (its path there) and one image file of each size (with their MD5)."""
    container = lab_container("wrk")
    lab_keystone().set_services(identity.LAB_CATALOG)
    serve_with_apache_too(container, log)
    # Each server from a fresh start (start_apache_variants restarts Apache's), then warmed with
    # login pages: mod_wsgi loads Horizon in each process at its first request (uWSGI before it
    # serves), which would otherwise count as the first upload's memory.
    run(container, "systemctl restart horizon && systemctl is-active horizon")
    for server in SERVERS:
        wrk(container, f"https://localhost:{server.port}/{LOGIN}", connections=8, seconds=5)
    _, cookie = visit(container)
    checksums = {}
    for mib in sizes:
        log(f"writing a {mib} MiB image of random bytes in {IMAGES}")
        made = f"mkdir -p {IMAGES} && head -c {mib}M /dev/urandom >{IMAGES}/{mib}.raw && md5sum {IMAGES}/{mib}.raw"
        checksums[mib] = run(container, made).split()[0]
    return container, copy_script(container, "upload_client.py"), cookie, checksums


def measure(sizes: list[int], rounds: int, log) -> dict:
    container, client, cookie, checksums = prepare(sizes, log)
    try:
        runs: dict[tuple[int, str], list[Upload]] = {}
        for number in range(rounds):
            order = SERVERS[number % 3:] + SERVERS[:number % 3]
            for mib in sizes:
                for server in order:
                    name = f"benchmark-{mib}-{number}-{server.port}"
                    measured = upload(container, client, server, cookie, mib, checksums[mib], name)
                    runs.setdefault((mib, server.name), []).append(measured)
                    log(f"round {number + 1}, {mib} MiB, {server.name}: {measured.status}, {measured.answered:.1f} s to answer, "
                        f"{measured.settled or 0:.1f} s to active, intact {measured.intact}, RSS {measured.rss_mib} MiB "
                        f"(+{measured.grown_mib})")
    finally:
        run(container, f"rm -rf {IMAGES}")
        lab_keystone().set_services(identity.LAB_CATALOG)
    return {"sizes": sizes, "servers": [server.name for server in SERVERS], "rounds": rounds, "runs": runs}


def summary(uploads: list[Upload], mib: int) -> dict:
    """Medians over the rounds of the uploads that ended intact; how many did; memory at its largest."""
    intact = [upload for upload in uploads if upload.intact]
    return {
        "statuses": sorted({upload.status for upload in uploads}),
        "intact": len(intact),
        "answered": statistics.median(upload.answered for upload in intact) if intact else None,
        "settled": statistics.median(upload.settled for upload in intact) if intact else None,
        "mib_per_second": statistics.median(mib / upload.settled for upload in intact) if intact else None,
        "rss_mib": max(upload.rss_mib for upload in uploads),
        "pss_mib": max(upload.pss_mib for upload in uploads),
        "grown_mib": max(upload.grown_mib for upload in uploads),
    }
