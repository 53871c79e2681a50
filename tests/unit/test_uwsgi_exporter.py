"""The uWSGI exporter (operations/runtime/horizon_uwsgi_exporter.py) against a stats socket that
answers as uWSGI 2.0's master does, a listening socket with connections waiting in its queue
(counted by the real ``ss``), and Prometheus' own parser."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.host_libraries import RUNTIME_DIR

EXPORTER = RUNTIME_DIR / "horizon_uwsgi_exporter.py"


def worker(number: int, status: str, busy_cores: int, requests: int) -> dict:
    """A worker as uWSGI 2.0.21 and 2.0.28 describe it (two threads)."""
    cores = [{"id": core, "requests": requests // 2, "in_request": int(core < busy_cores), "vars": [], "req_info": {}} for core in range(2)]
    return {
        "id": number, "pid": 100 + number, "accepting": 1, "requests": requests, "delta_requests": 0, "exceptions": 3,
        "harakiri_count": 1, "signals": 0, "signal_queue": 0, "status": status, "rss": 150 << 20, "vsz": 600 << 20,
        "running_time": 12_000_000, "last_spawn": 1_700_000_000, "respawn_count": 2, "tx": 123456, "avg_rt": 25_000,
        "apps": [], "cores": cores,
    }


STATS = {
    "version": "2.0.28-debian", "listen_queue": 0, "listen_queue_errors": 0, "signal_queue": 0, "load": 0, "pid": 99,
    "uid": 999, "gid": 999, "cwd": "/usr/share/openstack-dashboard", "locks": [], "sockets": [],
    "workers": [worker(1, "busy", 1, 40), worker(2, "idle", 0, 60)],
}


@pytest.fixture
def exporter():
    spec = importlib.util.spec_from_file_location("horizon_uwsgi_exporter", EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stats_socket(tmp_path):
    """A stats socket that writes the document and closes, as uWSGI's master does."""
    path = str(tmp_path / "stats.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()

    def answer():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.sendall(json.dumps(STATS).encode())

    threading.Thread(target=answer, daemon=True).start()
    yield path
    server.close()


@pytest.fixture
def queued_socket(tmp_path):
    """Horizon's socket, with three connections accepted by the kernel and waiting for uWSGI."""
    path = str(tmp_path / "horizon.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(16)
    waiting = []
    for _ in range(3):
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        waiting.append(client)
    yield path
    for client in waiting:
        client.close()
    listener.close()


def scraped(collector) -> dict[tuple[str, tuple], float]:
    """What Prometheus reads from the collector: each sample by name and labels."""
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_busy_workers_requests_latency_memory_and_the_listen_queue_are_exported(exporter, stats_socket, queued_socket):
    samples = scraped(exporter.UwsgiCollector(stats_socket, queued_socket))
    assert samples[("uwsgi_up", ())] == 1
    assert samples[("uwsgi_workers", (("status", "busy"),))] == 1
    assert samples[("uwsgi_workers", (("status", "idle"),))] == 1
    assert (samples[("uwsgi_busy_threads", ())], samples[("uwsgi_threads", ())]) == (1, 4)
    assert samples[("uwsgi_requests_total", (("worker", "1"),))] == 40
    assert samples[("uwsgi_requests_total", (("worker", "2"),))] == 60
    assert samples[("uwsgi_harakiri_total", (("worker", "1"),))] == 1
    # Microseconds in uWSGI's stats, seconds for Prometheus.
    assert samples[("uwsgi_worker_average_response_seconds", (("worker", "2"),))] == 0.025
    assert samples[("uwsgi_worker_rss_bytes", (("worker", "1"),))] == 150 << 20
    # From the kernel, not uWSGI (which counts TCP sockets only): three waiting, sixteen may.
    assert (samples[("uwsgi_listen_queue", ())], samples[("uwsgi_listen_queue_size", ())]) == (3, 16)


def test_a_uwsgi_that_does_not_answer_is_reported_down_and_nothing_else(exporter, tmp_path):
    samples = scraped(exporter.UwsgiCollector(str(tmp_path / "no-stats.sock"), str(tmp_path / "no-horizon.sock")))
    assert samples == {("uwsgi_up", ()): 0}


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_the_exporter_serves_on_the_address_and_port_it_is_given(stats_socket, queued_socket, address):
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        probe.bind((address, 0))
        port = probe.getsockname()[1]
    listen = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    process = subprocess.Popen([sys.executable, str(EXPORTER), stats_socket, queued_socket, listen])
    try:
        url = f"http://{listen}/metrics"
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, f"nothing answered at {url}"
                time.sleep(0.1)
        assert "uwsgi_up 1.0" in body and "uwsgi_listen_queue 3.0" in body
    finally:
        process.terminate()
        process.wait()
