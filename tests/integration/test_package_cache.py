"""The lab's package cache, which every other integration test installs through.

A cache that cannot fetch the archive's indexes must say so before any deploy starts, and a
fleet refreshing its indexes at once (the deploy benchmark's 8 hosts) must all succeed."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import pytest

from lab import targets

FLEET = 8


def test_a_cache_that_cannot_fetch_an_index_says_so_before_any_deploy():
    targets.ensure_package_cache()
    with pytest.raises(RuntimeError) as refused:
        targets.check_package_cache(targets.PACKAGE_CACHE, suite="no-such-suite", timeout=30)
    message = str(refused.value)
    assert message.startswith("the lab's package cache is broken: ")
    assert "dists/no-such-suite/InRelease" in message and "404" in message, message


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory):
    """A package cache of its own with an empty store, so that the first refresh reaches the
    archive for every index, as on a fresh machine."""
    name = "horizon-test-package-cache"
    targets.ensure_network()
    targets.remove(name)
    targets.start_package_cache(name, tmp_path_factory.mktemp("packages") / "store")
    targets.check_package_cache(name)
    yield name
    targets.remove(name)


@pytest.fixture(scope="module")
def fleet(cold_cache):
    names = [f"horizon-test-package-cache-host-{index}" for index in range(FLEET)]
    for name in names:
        targets.start(name, "debian:12", apt_proxy=cold_cache)
    yield names
    for name in names:
        targets.remove(name)


def refresh_at_once(names: list[str]) -> dict[str, subprocess.CompletedProcess | str]:
    """``apt-get update`` on every host, started together (one thread each, released by one
    barrier); a refresh still running after 5 minutes counts as hung."""
    results: dict[str, subprocess.CompletedProcess | str] = {}
    barrier = threading.Barrier(len(names))

    def refresh(name: str) -> None:
        barrier.wait()
        try:
            results[name] = subprocess.run(
                ["docker", "exec", name, "apt-get", "update"], capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            results[name] = "hung for 5 minutes"

    threads = [threading.Thread(target=refresh, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def answers(cache: str) -> Counter[tuple[str, str]]:
    """(file, how the cache answered it: HIT, MISS, ...) counted from the cache's log since the
    last call."""
    log = subprocess.run(
        ["docker", "exec", cache, "sh", "-c", "cat /var/log/nginx/package-cache.log && : >/var/log/nginx/package-cache.log"],
        capture_output=True, text=True, check=True,
    ).stdout
    return Counter((line.split('"')[1].split()[1], line.split()[-2]) for line in log.splitlines())


def test_eight_hosts_refreshing_at_once_all_succeed(fleet, cold_cache):
    # Round 1 finds the cache empty; round 2, lists deleted on every host, finds it warm.
    for round_ in (1, 2):
        for name in fleet:
            subprocess.run(["docker", "exec", name, "sh", "-c", "rm -rf /var/lib/apt/lists/*"], check=True)
        started = time.monotonic()
        results = refresh_at_once(fleet)
        elapsed = time.monotonic() - started
        failures = {
            name: result if isinstance(result, str) else f"exit {result.returncode}: {result.stdout[-800:]}{result.stderr[-800:]}"
            for name, result in results.items()
            if isinstance(result, str) or result.returncode != 0 or "Err:" in result.stdout or result.stderr.strip()
        }
        assert not failures, f"round {round_}: {len(failures)} of {FLEET} refreshes failed: {failures}"
        answered = answers(cold_cache)
        fetched_twice = [path for (path, status), count in answered.items() if status == "MISS" and count > 1]
        assert not fetched_twice, f"round {round_}: fetched from the archive more than once: {fetched_twice}"
        print(
            f"round {round_}: {FLEET} simultaneous refreshes succeeded in {elapsed:.1f} s; the cache's answers:",
            dict(Counter(status for (_, status) in answered.elements())),
        )
