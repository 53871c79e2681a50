"""Page loads as Debian's headless Chromium makes them, with Navigation Timing's figures.

Run by ``benchmarks/browser.py`` inside the lab container's network namespace (``nsenter
--net``), so that the browser reaches each server on the container's own loopback under the
dashboard's configured name (``localhost``), as wrk does for ``benchmarks/serving``. Reads its
plan as JSON on stdin, prints one JSON object per load.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

from tests.integration.browser import chromium, log_in
from tests.integration.dashboard import LOGIN, LOGIN_PAGE, PROJECTS

# The pages measured, as the report names them.
LOGIN_TITLE, PROJECTS_TITLE = "Login page", "Identity → Projects"

# What one load cost, read from the page once its load event has run: the navigation entry and
# every resource entry. transferSize is 0 for what came from the browser's cache, and the
# headers' size alone for a revalidation (304).
FIGURES = """
const page = performance.getEntriesByType("navigation")[0];
if (!page || page.loadEventEnd === 0) return null;
const fetched = performance.getEntriesByType("resource");
const network = [page, ...fetched].filter((entry) => entry.transferSize > 0);
return {
    ttfb_ms: page.responseStart,
    dom_content_loaded_ms: page.domContentLoadedEventEnd,
    load_ms: page.loadEventEnd,
    resources: fetched.length + 1,
    requests: network.length,
    bytes: network.reduce((sum, entry) => sum + entry.transferSize, 0),
    protocol: page.nextHopProtocol,
};
"""


def figures(driver, within: float = 30) -> dict:
    deadline = time.monotonic() + within
    while (found := driver.execute_script(FIGURES)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{driver.current_url}: no load event after {within} s")
        time.sleep(0.05)
    return found


def loads(driver, url: str, cache: str, count: int, expected_title: str) -> list[dict]:
    """``count`` loads of ``url``: each from an empty cache (``cold``), or each with what the
    loads before it left (``warm``)."""
    measured = []
    for _ in range(count):
        if cache == "cold":
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.get(url)
        if driver.title != expected_title:
            raise RuntimeError(f"{url} shows {driver.title!r}, not {expected_title!r}")
        measured.append(figures(driver))
    return measured


def report(server: str, page: str, cache: str, measured: list[dict]) -> None:
    for load in measured:
        print(json.dumps({"server": server, "page": page, "cache": cache, **load}), flush=True)


@contextmanager
def browser(plan: dict, profile: str):
    """Chromium on ``profile``, trusting the dashboard's certificate, the network emulated as the
    plan's link says (None: as it is)."""
    with chromium({}, profile, plan["certificate_key"]) as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        if plan["link"]:
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, **plan["link"]})
        yield driver


@dataclass
class Later:
    """A server's cache as its warm loads left it, copied once per later visit to each page."""

    server: str
    base: str
    session: list[dict]
    copies: dict[str, list[str]]


def first_visits(plan: dict, server: dict, profile: str) -> Later:
    """Cold and warm loads of both pages through ``server``; each page's warm cache copied as its
    warm loads left it, the browser closed (which writes the cache out)."""
    count, name, base = plan["loads"], server["name"], f"https://localhost:{server['port']}/"
    copies = {}
    with browser(plan, profile) as driver:
        for cache in ("cold", "warm"):
            report(name, LOGIN_TITLE, cache, loads(driver, base + LOGIN, cache, count, LOGIN_PAGE))
    copies[LOGIN_TITLE] = [shutil.copytree(profile, f"{profile}-login-{k}") for k in range(count)]
    with browser(plan, profile) as driver:
        log_in(driver, base, plan["username"], plan["password"])
        for cache in ("cold", "warm"):
            report(name, PROJECTS_TITLE, cache, loads(driver, base + "identity/", cache, count, PROJECTS))
        session = driver.get_cookies()
    copies[PROJECTS_TITLE] = [shutil.copytree(profile, f"{profile}-projects-{k}") for k in range(count)]
    return Later(name, base, session, copies)


def later_visits(plan: dict, visit: Later) -> None:
    """One load of each page in a new browser on each copy of its warm cache."""
    for profile in visit.copies[LOGIN_TITLE]:
        with browser(plan, profile) as driver:
            report(visit.server, LOGIN_TITLE, "later", loads(driver, visit.base + LOGIN, "warm", 1, LOGIN_PAGE))
    for profile in visit.copies[PROJECTS_TITLE]:
        with browser(plan, profile) as driver:
            for cookie in visit.session:
                # As they were, without the expiry a copied profile may have dropped.
                kept = {key: cookie[key] for key in ("name", "value", "path", "secure", "httpOnly") if key in cookie}
                driver.execute_cdp_cmd("Network.setCookie", {"url": visit.base, **kept})
            report(visit.server, PROJECTS_TITLE, "later", loads(driver, visit.base + "identity/", "warm", 1, PROJECTS))


def main() -> None:
    plan = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as work:
        visits = [first_visits(plan, server, f"{work}/{number}") for number, server in enumerate(plan["servers"])]
        primed = time.time()
        # Chromium keeps a file without Cache-Control fresh for a tenth of its age when fetched
        # (from Last-Modified: the static build); the later visits come once that has run out.
        time.sleep(max(0.0, primed + (primed - plan["built_at"]) / 10 + 5 - time.time()))
        for visit in visits:
            later_visits(plan, visit)


if __name__ == "__main__":
    main()
