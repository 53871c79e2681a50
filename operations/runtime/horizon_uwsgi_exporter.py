"""uWSGI's stats for Prometheus: read from uWSGI's stats socket at each scrape, with the listen
queue of Horizon's socket from the kernel, served on the address the operator chose
(``horizon_metrics_listen``).

    python3 horizon_uwsgi_exporter.py STATS_SOCKET HORIZON_SOCKET ADDRESS:PORT

Neither Debian nor PyPI has a maintained exporter for uWSGI (the usual one is a Go program
outside Debian), so this is the smallest bridge: Debian's ``python3-prometheus-client``, one
collector, no state of its own. Runs on the host beside Horizon, as Horizon's user (the socket
is Horizon's), under ``horizon-uwsgi-exporter.service``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

# A scrape waits no longer than this for uWSGI's master, which answers between its other work.
READ_TIMEOUT = 5


def read_stats(path: str, timeout: float = READ_TIMEOUT) -> dict:
    """uWSGI's stats: the master writes one JSON document and closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(path)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))


def listen_queue(path: str) -> tuple[int, int] | None:
    """Connections waiting for uWSGI to accept them on the unix socket at ``path``, and how many
    may wait, as the kernel counts them (``ss``: Recv-Q and Send-Q of a listening socket).
    uWSGI's own stats count them for TCP sockets only."""
    listed = subprocess.run(
        ["ss", "--unix", "--listening", "--numeric", "--no-header"], capture_output=True, text=True, timeout=READ_TIMEOUT
    )
    for line in listed.stdout.splitlines():
        # [Netid] State Recv-Q Send-Q Local-Address Inode Peer-Address Inode
        fields = line.split()
        if path in fields[3:]:
            at = fields.index(path)
            return int(fields[at - 2]), int(fields[at - 1])
    return None


def metrics(stats: dict, queue: tuple[int, int] | None) -> list:
    """The metric families an operator alerts on, from one stats document and the socket's queue."""
    workers = stats["workers"]
    families = []
    if queue is not None:
        waiting = GaugeMetricFamily("uwsgi_listen_queue", "Connections from NGINX waiting for a worker thread to accept them.")
        waiting.add_metric([], queue[0])
        size = GaugeMetricFamily("uwsgi_listen_queue_size", "Connections that may wait; beyond it NGINX's connections fail (502).")
        size.add_metric([], queue[1])
        families += [waiting, size]
    by_status = GaugeMetricFamily("uwsgi_workers", "Worker processes, by status (busy: serving at least one request).", labels=["status"])
    for status in sorted({"busy", "idle", *(worker["status"] for worker in workers)}):
        by_status.add_metric([status], sum(worker["status"] == status for worker in workers))
    busy_threads = GaugeMetricFamily("uwsgi_busy_threads", "Worker threads serving a request now.")
    busy_threads.add_metric([], sum(core["in_request"] for worker in workers for core in worker.get("cores", ())))
    threads = GaugeMetricFamily("uwsgi_threads", "Worker threads in all.")
    threads.add_metric([], sum(len(worker.get("cores", ())) for worker in workers))
    per_worker = {
        "requests": CounterMetricFamily(
            "uwsgi_requests", "Requests served, by worker (reset when a worker is replaced).", labels=["worker"]
        ),
        "exceptions": CounterMetricFamily("uwsgi_exceptions", "Requests that raised an exception, by worker.", labels=["worker"]),
        "harakiri_count": CounterMetricFamily(
            "uwsgi_harakiri", "Requests killed for running past their time limit, by worker.", labels=["worker"]
        ),
        "respawn_count": CounterMetricFamily(
            "uwsgi_worker_respawns", "Times the worker was started again (max-requests, reloads, crashes).", labels=["worker"]
        ),
    }
    average = GaugeMetricFamily(
        "uwsgi_worker_average_response_seconds",
        "Time of the worker's recent requests: uWSGI's decaying average, in which each request weighs as much as all before it.",
        labels=["worker"],
    )
    memory = GaugeMetricFamily("uwsgi_worker_rss_bytes", "Resident memory of the worker.", labels=["worker"])
    for worker in workers:
        label = [str(worker["id"])]
        for field, family in per_worker.items():
            family.add_metric(label, worker[field])
        # Microseconds in uWSGI's stats.
        average.add_metric(label, worker["avg_rt"] / 1e6)
        memory.add_metric(label, worker["rss"])
    return [*families, by_status, busy_threads, threads, *per_worker.values(), average, memory]


class UwsgiCollector:
    def __init__(self, stats: str, socket: str):
        self.stats, self.socket = stats, socket

    def collect(self):
        up = GaugeMetricFamily("uwsgi_up", "Whether uWSGI's stats socket answered this scrape.")
        try:
            stats = read_stats(self.stats)
        except (OSError, ValueError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics(stats, listen_queue(self.socket))


def main(stats: str, socket: str, listen: str) -> None:
    address, _, port = listen.rpartition(":")
    REGISTRY.register(UwsgiCollector(stats, socket))
    start_http_server(int(port), addr=address.strip("[]"))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(*sys.argv[1:])
