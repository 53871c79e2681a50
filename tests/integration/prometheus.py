"""The lab's Prometheus (``lab.identity.provide_prometheus``), as the tests query it."""

from __future__ import annotations

import json
import time

import requests


class Prometheus:
    """The lab's Prometheus, through its HTTP API."""

    def __init__(self, api: str):
        self.api = api

    def query(self, expression: str, at: float | None = None) -> dict[str, float]:
        """Each series' value (by its labels, as text), now or at ``at``."""
        params = {"query": expression, **({"time": at} if at is not None else {})}
        answer = requests.get(self.api + "query", params=params, timeout=10).json()
        assert answer["status"] == "success", answer
        return {json.dumps(series["metric"], sort_keys=True): float(series["value"][1]) for series in answer["data"]["result"]}

    def total(self, expression: str, at: float | None = None) -> float:
        (value,) = self.query(f"sum({expression})", at).values()
        return value

    def wait_for(self, expression: str, within: float = 60, series: int = 1) -> dict[str, float]:
        """The first answer to ``expression`` with at least ``series`` series: targets scraped
        together are not scraped at the same moment."""
        deadline = time.monotonic() + within
        while len(found := self.query(expression)) < series:
            assert time.monotonic() < deadline, f"Prometheus has {len(found)} of {series} series of {expression} after {within} s"
            time.sleep(1)
        return found
