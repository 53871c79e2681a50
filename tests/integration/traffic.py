"""People using the dashboard while it changes: anonymous visitors fetching the login page and
every stylesheet, script and image it names, and logged-in users (real sessions from the lab
Keystone) fetching a page only a logged-in user gets. Each runs on its own thread until the
traffic stops, back to back or reading each page a while. What is counted is what a user would
notice. And what the load balancer in front of a fleet sees meanwhile: which hosts are out of
rotation."""

from __future__ import annotations

import csv
import re
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from operations.layout import HAPROXY_ADMIN_SOCKET
from tests.integration.dashboard import LOGIN, PROJECTS, DashboardUser, title

# A page only a logged-in user gets (Identity → Projects): anyone else is sent to the login page.
LOGGED_IN_PAGE = "identity/"
# After the change, the traffic goes on this long: what a change leaves behind shows too.
TAIL_SECONDS = 10
# How long the tests' visitors and users read each page (a visitor's: with every asset it names)
# before the next, as people do. Back to back, two users kept half a core of the lab's two busy
# in Keystone alone (133 s of Keystone's CPU in the 263 s of the single-host roll-out test), and
# two visitors another half in Horizon's workers rendering the login page (a theme's run and
# its roll-back on the lab: 1.73 cores busy back to back, 1.16 reading 0.5 s), slowing the
# deploys they watch and the other image's tests. Reading, they still send tens of requests a
# second; benchmarks/rollout keeps everyone back to back.
READING_SECONDS = 1.0
# As a browser does (RFC 9110, 9.2.2): a GET sent on a kept-alive connection the server closed at
# that moment (NGINX's old workers close idle connections when it reloads) is sent once more on
# a new one. Only then, and only once; an answer, any answer, is never retried.
BROWSER_RETRY = Retry(total=1, connect=1, read=1, redirect=0, status=0, other=0, allowed_methods=frozenset({"GET"}))


def browser_like(session: requests.Session) -> requests.Session:
    adapter = HTTPAdapter(max_retries=BROWSER_RETRY)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def assets(page: str) -> list[str]:
    """What a browser fetches for ``page``: its stylesheets, scripts, images and icons."""
    found = re.findall(r'<link[^>]+href="([^"]+\.(?:css|ico|png|svg))"', page)
    found += re.findall(r'<(?:script|img)[^>]+src="([^"]+)"', page)
    return sorted(set(found))


@dataclass
class Figures:
    requests: int = 0
    # Every answer a user would see as broken: a status other than 200 or 302, or no answer.
    failures: list[str] = field(default_factory=list)
    # Assets a page named that were not there (404).
    missing_assets: list[str] = field(default_factory=list)
    # Logged-in users sent back to the login page.
    logged_out: int = 0
    longest: float = 0.0
    # Requests sent a second time on a new connection (see BROWSER_RETRY), counted once above.
    resent: int = 0

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {len(self.failures)} failed, {len(self.missing_assets)} assets missing, "
            f"{self.logged_out} logged out, longest {self.longest:.2f} s, {self.resent} resent"
            + (f"; first failures: {self.failures[:5]}" if self.failures else "")
            + (f"; first missing: {self.missing_assets[:5]}" if self.missing_assets else "")
        )


class Traffic:
    """``with Traffic(url, certificate, visitors, users):`` runs the traffic for the block and
    ``TAIL_SECONDS`` after it; ``figures`` holds the tally. ``users`` are logged-in sessions
    (``DashboardUser``), logged in before the block starts. Visitors and users pause ``reading``
    seconds after each page."""

    def __init__(self, url: str, certificate, visitors: int, users: list[DashboardUser], reading: float = 0.0):
        self.url, self.certificate, self.reading = url, certificate, reading
        self.figures = Figures()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._visit, daemon=True) for _ in range(visitors)]
        self._threads += [threading.Thread(target=self._use, args=(user,), daemon=True) for user in users]
        for user in users:
            browser_like(user.http)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        time.sleep(TAIL_SECONDS)
        self._done.set()
        for thread in self._threads:
            thread.join()

    def _fetch(self, session: requests.Session, url: str, asset: bool = False) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = session.get(url, timeout=60, verify=self.certificate, allow_redirects=False)
        except requests.RequestException as error:
            self._count(time.monotonic() - started, failure=f"{url}: {type(error).__name__}")
            return None
        failure = None if response.status_code in (200, 302) else f"{url}: {response.status_code}"
        missing = url if asset and response.status_code == 404 else None
        self._count(time.monotonic() - started, failure=failure, missing=missing, resent=resent(response))
        return response

    def _count(
        self, seconds: float, failure: str | None = None, missing: str | None = None, logged_out: bool = False, resent: bool = False
    ):
        with self._lock:
            self.figures.requests += 1
            self.figures.resent += resent
            self.figures.longest = max(self.figures.longest, seconds)
            if failure:
                self.figures.failures.append(failure)
            if missing:
                self.figures.missing_assets.append(missing)
            self.figures.logged_out += logged_out

    def _visit(self) -> None:
        session = browser_like(requests.Session())
        while not self._done.is_set():
            page = self._fetch(session, urljoin(self.url, LOGIN))
            if page is not None and page.status_code == 200:
                for asset in assets(page.text):
                    self._fetch(session, urljoin(self.url, asset), asset=True)
            self._done.wait(self.reading)

    def _use(self, user: DashboardUser) -> None:
        while not self._done.is_set():
            started = time.monotonic()
            try:
                page = user.get(LOGGED_IN_PAGE)
            except requests.RequestException as error:
                self._count(time.monotonic() - started, failure=f"{LOGGED_IN_PAGE}: {type(error).__name__}")
                continue
            # Sent to the login page (the site's name in the titles may be what changed).
            sent_to_login = LOGIN in page.url or not title(page.text).startswith(PROJECTS.partition(" - ")[0])
            failure = None if page.status_code == 200 else f"{LOGGED_IN_PAGE}: {page.status_code}"
            self._count(
                time.monotonic() - started,
                failure=failure,
                logged_out=sent_to_login and failure is None,
                resent=any(resent(answer) for answer in (*page.history, page)),
            )
            self._done.wait(self.reading)


def resent(response: requests.Response) -> bool:
    """Whether urllib3 sent the request again (BROWSER_RETRY) before this answer."""
    retries = getattr(response.raw, "retries", None)
    return bool(retries and retries.history)


class RotationWatch:
    """HAProxy's own view of the dashboard hosts, from its stats socket on the load balancer
    (``run`` runs a shell command there and returns its output), twice a second while the
    block runs: for each sample, the hosts out of rotation (down, or in maintenance), and when."""

    SHOW_STAT = (
        f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({HAPROXY_ADMIN_SOCKET!r}); "
        "s.sendall(b'show stat\\n'); print(b''.join(iter(lambda: s.recv(65536), b'')).decode())"
    )

    def __init__(self, run: Callable[[str], str]):
        self.run = run
        self.samples: list[set[str]] = []
        self.times: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def dashboard_hosts(self) -> dict[str, dict[str, str]]:
        """HAProxy's statistics of each dashboard host, by its name."""
        rows = csv.DictReader(self.run(f"python3 -c {shlex.quote(self.SHOW_STAT)}").lstrip("# ").splitlines())
        return {row["svname"]: row for row in rows if row["pxname"] == "dashboards" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def out_of_rotation(self) -> set[str]:
        # A host going down still serves ("UP 1/2"); one coming back does not yet ("DOWN 1/2").
        return {name for name, row in self.dashboard_hosts().items() if row["status"].split()[0] in ("DOWN", "MAINT", "NOLB")}

    def _watch(self) -> None:
        while not self._done.is_set():
            self.samples.append(self.out_of_rotation())
            self.times.append(time.monotonic())
            time.sleep(0.5)

    def __enter__(self) -> RotationWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def seconds_out(self) -> dict[str, float]:
        """For each host that was out of rotation, about how long, in all."""
        out: dict[str, float] = {}
        for sample, start, end in zip(self.samples[:-1], self.times[:-1], self.times[1:], strict=True):
            for name in sample:
                out[name] = out.get(name, 0.0) + end - start
        return out
