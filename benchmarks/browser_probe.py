"""Page loads as Debian's headless Chromium makes them, with Navigation Timing's figures.

Run by ``benchmarks/browser.py`` inside the lab container's network namespace (``nsenter
--net``), so that the browser reaches each server on the container's own loopback under the
dashboard's configured name (``localhost``), as wrk does for ``benchmarks/serving``. Reads its
plan as JSON on stdin, prints one JSON object per load.
"""

from __future__ import annotations

import json
import sys
import time

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
    """``count`` loads of ``url``: each from an empty cache (``cold``), or each after the last
    (``warm``: what the previous load left, as when a user comes back)."""
    measured = []
    for _ in range(count):
        if cache == "cold":
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.get(url)
        if driver.title != expected_title:
            raise RuntimeError(f"{url} shows {driver.title!r}, not {expected_title!r}")
        measured.append(figures(driver))
    return measured


def measure(driver, server: str, page: str, url: str, title: str, count: int) -> None:
    """``count`` cold loads of ``url``, then ``count`` warm ones, each printed."""
    for cache in ("cold", "warm"):
        for load in loads(driver, url, cache, count, title):
            print(json.dumps({"server": server, "page": page, "cache": cache, **load}), flush=True)


def main() -> None:
    plan = json.load(sys.stdin)
    for server in plan["servers"]:
        base = f"https://localhost:{server['port']}/"
        with chromium({}) as driver:
            driver.execute_cdp_cmd("Network.enable", {})
            if plan["link"]:
                driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, **plan["link"]})
            measure(driver, server["name"], LOGIN_TITLE, base + LOGIN, LOGIN_PAGE, plan["loads"])
            log_in(driver, base, plan["username"], plan["password"])
            measure(driver, server["name"], PROJECTS_TITLE, base + "identity/", PROJECTS, plan["loads"])


if __name__ == "__main__":
    main()
