"""What an operator watching the dashboard sees: NGINX's access log with each request's timings,
uWSGI's slow requests in the journal, Horizon's operation log (who did what), and NGINX's and
uWSGI's metrics as the lab's Prometheus scrapes them."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import threading
import time

from lab import targets
from lab.identity import ADMIN, provide_prometheus
from operations.layout import (
    METRICS_USER,
    NGINX_ACCESS_LOG,
    NGINX_EXPORTER_PORT,
    NGINX_EXPORTER_SERVICE,
    UWSGI_EXPORTER_PORT,
    UWSGI_EXPORTER_UNIT,
    UWSGI_SOCKET,
    UWSGI_STATS_SOCKET,
)
from tests.integration.conftest import describe
from tests.integration.dashboard import LOGIN
from tests.integration.prometheus import Prometheus

# What the timed format adds to NGINX's combined one.
TIMINGS = re.compile(r" request_time=(?P<request>[\d.]+) upstream_response_time=(?P<upstream>[\d.]+|-) request_length=(?P<length>\d+)$")


def logged_since(target, lines: int) -> list[str]:
    """The access log's lines after its first ``lines``."""
    return target.host.check_output(f"tail -n +{lines + 1} {NGINX_ACCESS_LOG}").splitlines()


def log_length(target) -> int:
    return int(target.host.check_output(f"wc -l < {NGINX_ACCESS_LOG}"))


# A login form's body, as a slow client sends it.
DRIBBLED = b"username=nobody&password=" + b"x" * 100


def dribbled_post(target, seconds: float, parts: int = 5) -> tuple[int, float]:
    """``DRIBBLED`` posted to the login form in ``parts`` over ``seconds``, as from a slow link;
    the answer's status and the seconds it took."""
    body = DRIBBLED
    pieces = [body[i * len(body) // parts : (i + 1) * len(body) // parts] for i in range(parts)]

    def slowly():
        for piece in pieces:
            time.sleep(seconds / parts)
            yield piece

    context = ssl.create_default_context(cafile=target.trusted_certificate())
    connection = http.client.HTTPSConnection("localhost", target.tls_port, context=context, timeout=60)
    started = time.monotonic()
    connection.request(
        "POST", f"/{LOGIN}", body=slowly(),
        headers={"Content-Length": str(len(body)), "Content-Type": "application/x-www-form-urlencoded"},
    )
    status = connection.getresponse().status
    connection.close()
    return status, time.monotonic() - started


def milliseconds(seconds: str | float) -> int:
    """One of NGINX's times, which it writes to the millisecond, as whole milliseconds: compared
    as floats, 0.013 + 0.001 is less than 0.014."""
    return round(float(seconds) * 1000)


def test_the_logs_time_each_request_name_the_slow_ones_and_say_who_did_what(target, ready_keystone):
    run = target.deploy("horizon_slow_request_seconds=1", "horizon_operation_log=true", "horizon_log_level=WARNING")
    assert run.returncode == 0, describe(run)
    lines, cursor = log_length(target), target.journal_cursor()

    # A client that takes 2 s to send its form: NGINX's time, not Horizon's (NGINX has the whole
    # body before Horizon sees it; Horizon sends it back to the login page at once, without a
    # CSRF cookie).
    status, took = dribbled_post(target, seconds=2)
    assert status == 302
    # A Keystone stalled for 3 s as a login starts (the form's page fetched first takes a few
    # milliseconds of them): Horizon's time, which NGINX waits for.
    keystone = targets.client().containers.get(ready_keystone.name)
    keystone.exec_run(["systemctl", "kill", "--signal=STOP", "keystone"])
    threading.Timer(3, keystone.exec_run, [["systemctl", "kill", "--signal=CONT", "keystone"]]).start()
    started = time.monotonic()
    assert target.user().login(ADMIN, ready_keystone.admin_password, follow=False).status_code == 302
    login_took = time.monotonic() - started

    dribbled, login = [TIMINGS.search(line) for line in logged_since(target, lines) if f"POST /{LOGIN}" in line]
    assert 2 <= float(dribbled["request"]) <= took and float(dribbled["upstream"]) < 1, dribbled[0]
    # NGINX rounds each to the millisecond: Horizon's part may show 1 ms more than the whole.
    assert 2500 <= milliseconds(login["upstream"]) <= milliseconds(login["request"]) + 1, login[0]
    assert float(login["request"]) <= login_took, login[0]
    # The body and the request line and headers before it.
    assert len(DRIBBLED) < int(dribbled["length"]) < len(DRIBBLED) + 1024, dribbled[0]
    # uWSGI logged the slow login with its milliseconds, and none of the quick requests.
    journal = target.journal_after(cursor)
    slow = re.findall(rf"POST /{LOGIN} => generated \d+ bytes in (\d+) msecs \(HTTP/1\.1 302\)", journal)
    assert len(slow) == 1 and 2500 <= int(slow[0]) <= login_took * 1000, journal[-3000:]
    assert f"GET /{LOGIN} =>" not in journal, journal[-3000:]
    # Who logged in, from Horizon's operation log (at INFO, below Horizon's level here): [client]
    # [domain] [domain id] [project] [project id] [user] [user id] [scheme] [referer] [URL]
    # [message] [method] [status] [parameters], the password masked (a form's fields are lists).
    (operation,) = [line for line in journal.splitlines() if line.startswith("INFO horizon.operation_log ")]
    assert f"[{ADMIN}]" in operation and f"[/{LOGIN}]" in operation and "[POST] [302]" in operation, operation
    assert re.search(r'"password": \[?"\*{8}"\]?', operation), operation
    assert ready_keystone.admin_password not in journal

    run = target.deploy("horizon_access_log_format=json")
    assert run.returncode == 0, describe(run)
    lines = log_length(target)
    assert target.get(f"/{LOGIN}").status == 200
    (entry,) = [json.loads(line) for line in logged_since(target, lines)]
    assert (entry["method"], entry["uri"], entry["status"]) == ("GET", f"/{LOGIN}", 200)
    assert 0 < milliseconds(entry["upstream_response_time"]) <= milliseconds(entry["request_time"]) + 1 < 10_000, entry

    run = target.deploy()
    assert run.returncode == 0, describe(run)


def burst(target, seconds: float, clients: int = 6) -> int:
    """Login pages loaded by ``clients`` at once for ``seconds``: how many, all answered 200."""
    counts, stop = [], time.monotonic() + seconds

    def load():
        user, done = target.user(), 0
        while time.monotonic() < stop:
            assert user.get(LOGIN).status_code == 200
            done += 1
        counts.append(done)

    threads = [threading.Thread(target=load) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counts) == clients, "a client failed"
    return sum(counts)


def test_prometheus_sees_a_burst_in_nginx_and_uwsgi_metrics_and_without_the_key_nothing_listens(target, ready_keystone):
    address = targets.address(target.name)
    exporters = (NGINX_EXPORTER_PORT, UWSGI_EXPORTER_PORT)
    socket_mode = target.host.check_output(f"stat -c %a {UWSGI_SOCKET}")
    run = target.deploy(f"horizon_metrics_listen={address}")
    assert run.returncode == 0, describe(run)
    # The operator's address only; uWSGI's own socket as it was (only the stats socket is uWSGI's).
    assert target.listening(*exporters) == sorted(f"{address}:{port}" for port in exporters)
    assert target.host.check_output(f"stat -c %a {UWSGI_SOCKET}") == socket_mode
    # uWSGI's stats show the requests in flight, cookies included: the exporter's user alone
    # may connect, not Horizon's other neighbours.
    connect = f"python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"{UWSGI_STATS_SOCKET}\")'"
    assert target.host.run(f"runuser -u {METRICS_USER} -- {connect}").rc == 0
    assert "Permission denied" in target.host.run(f"runuser -u nobody -- {connect}").stderr
    again = target.deploy(f"horizon_metrics_listen={address}")
    assert again.returncode == 0 and again.changed == 0, describe(again)

    prometheus = Prometheus(provide_prometheus(ready_keystone, [f"{address}:{port}" for port in exporters]))
    assert set(prometheus.wait_for("nginx_up == 1 or uwsgi_up == 1", series=2).keys()) == {
        json.dumps({"__name__": name, "instance": f"{address}:{port}", "job": "dashboards"}, sort_keys=True)
        for name, port in (("nginx_up", NGINX_EXPORTER_PORT), ("uwsgi_up", UWSGI_EXPORTER_PORT))
    }
    # Scraped every second: 3 s on, the latest samples are the counters as they stand now.
    time.sleep(3)
    before = time.time()
    nginx_before, uwsgi_before = prometheus.total("nginx_http_requests_total"), prometheus.total("uwsgi_requests_total")
    made = burst(target, seconds=8)
    time.sleep(3)
    took = time.time() - before
    nginx = prometheus.total("nginx_http_requests_total") - nginx_before
    uwsgi = prometheus.total("uwsgi_requests_total") - uwsgi_before
    # Every page, and besides them only the exporter's own reads of NGINX's counters (one a
    # second), and the requests Horizon answers: every page.
    assert made <= nginx <= made + took + 2, (made, nginx, took)
    assert uwsgi == made, (made, uwsgi)
    assert prometheus.total("rate(nginx_http_requests_total[5s])", at=before + 6) > made / 16
    assert prometheus.total(f"max_over_time(uwsgi_busy_threads[{int(took)}s])") >= 1
    # A login page takes milliseconds here, not seconds.
    latencies = prometheus.query("uwsgi_worker_average_response_seconds").values()
    assert latencies and all(0 < latency < 1 for latency in latencies), latencies
    assert prometheus.total("uwsgi_listen_queue_size") > 0 and prometheus.total("uwsgi_worker_rss_bytes") > 0

    run = target.deploy()
    assert run.returncode == 0, describe(run)
    assert target.listening(*exporters) == []
    assert target.host.run(f"dpkg -s {NGINX_EXPORTER_SERVICE}").rc != 0
    assert not target.host.file(UWSGI_EXPORTER_UNIT).exists
