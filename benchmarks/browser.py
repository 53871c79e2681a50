"""Pages as users wait for them: Debian's headless Chromium loads the login page and, logged in,
Identity → Projects, from an empty cache, from a warm one at once and on a later visit, through
NGINX + uWSGI and through Apache + mod_wsgi as Debian ships it and as tuned (the servers of
``benchmarks/serving``, in the same lab container), on the loopback and under Chromium's
emulation of a user's link.

Each server gets a browser profile of its own (``benchmarks/browser_probe.py``, run in the
container's network namespace); a cold load clears the browser's cache first and keeps its
connections, as a user's browser would after its cache is emptied; a later visit is a new
browser on a copy of the warm cache, started once Chromium's heuristic lifetime for files
without Cache-Control (a tenth of their age since Last-Modified, the static build) has run
out: what the files' own Cache-Control saves then shows. Figures are Navigation Timing's: time
to the first byte of the page, DOMContentLoaded and the load event, from the start of
navigation; requests that reached the network (revalidations included) and the bytes they moved.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from benchmarks import serving
from benchmarks.apache import APACHE_STOCK, APACHE_TUNED, NGINX_UWSGI
from benchmarks.wrk import run
from lab import identity
from operations.layout import STATIC_ROOT, TLS_CERTIFICATE

ROOT = Path(__file__).resolve().parent.parent
SERVERS = (NGINX_UWSGI, APACHE_STOCK, APACHE_TUNED)
# Chromium's own emulation (DevTools' Network.emulateNetworkConditions): latency added to each
# request, and throughput in bytes a second.
EMULATED = "50 ms, 20/5 Mbit/s"
LINKS = {
    "loopback": None,
    EMULATED: {"latency": 50, "downloadThroughput": 20_000_000 / 8, "uploadThroughput": 5_000_000 / 8},
}
FIGURES = ("ttfb_ms", "dom_content_loaded_ms", "load_ms", "requests", "bytes")


def probe(container, plan: dict) -> list[dict]:
    """The probe's loads, run in ``container``'s network namespace with this machine's Chromium."""
    container.reload()
    process = subprocess.run(
        ["nsenter", f"--net=/proc/{container.attrs['State']['Pid']}/ns/net", sys.executable, "-m", "benchmarks.browser_probe"],
        input=json.dumps(plan), capture_output=True, text=True, cwd=ROOT, timeout=1800,
    )
    if process.returncode != 0:
        raise RuntimeError(f"the browser probe failed:\n{process.stderr[-3000:]}")
    return [json.loads(line) for line in process.stdout.splitlines()]


def medians(records: list[dict]) -> dict:
    """Each figure's median over ``records``, and the protocol they were served over."""
    protocols = {record["protocol"] for record in records}
    return {**{name: statistics.median(record[name] for record in records) for name in FIGURES}, "protocol": "/".join(sorted(protocols))}


def measure(loads: int, log) -> dict:
    container, _ = serving.prepare(log)
    try:
        password = serving.admin_password()
        # The key of the certificate all three serve, which the browser trusts.
        key = run(container, f"openssl x509 -in {TLS_CERTIFICATE} -pubkey -noout | openssl pkey -pubin -outform der"
                             " | openssl dgst -sha256 -binary | base64").strip()
        # The oldest file's Last-Modified, which gets the longest heuristic lifetime.
        built_at = float(run(container, f"find {STATIC_ROOT} -type f -printf '%T@\\n' | sort -n | head -n 1"))
        records = []
        for link, conditions in LINKS.items():
            log(f"browser: {loads} cold, warm and later loads of each page, each server, {link}")
            plan = {
                "servers": [{"name": server.name, "port": server.port} for server in SERVERS],
                "link": conditions, "loads": loads, "username": identity.ADMIN, "password": password,
                "built_at": built_at, "certificate_key": key,
            }
            records += [{**record, "link": link} for record in probe(container, plan)]
    finally:
        serving.lab_keystone().set_services(identity.LAB_CATALOG)
    grouped = defaultdict(list)
    for record in records:
        grouped[(record["link"], record["page"], record["cache"], record["server"])].append(record)
    figures = {key: medians(group) for key, group in grouped.items()}
    return {"loads": loads, "links": list(LINKS), "servers": [server.name for server in SERVERS], "figures": figures}
