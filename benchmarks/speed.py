"""Is NGINX + uWSGI faster, and how fast is the deploy: ``benchmarks/speed [--only serving|deploy|uploads|browser]``.

Serving: the lab dashboard (started by ``lab/up`` when it is not running) against Apache +
mod_wsgi as Debian ships it and as tuned to uWSGI's processes and threads, in the same
container, interleaved. Deploy: a cold deploy against the floor (a bare install of the same
packages), a run with nothing to change, and fleets of fresh containers in one run. Uploads:
images through each server to the lab's Glance, in the legacy mode. Browser: pages as Chromium
loads them through each server, cold and warm, on the loopback and an emulated link. Each section
writes a Markdown table (all but uploads also a PNG chart) into docs/benchmarks/ and prints its
targets or figures. Figures are reported, never judged by the exit status: a shared machine may
be slow.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

from benchmarks import browser, deploy_speed, report, serving, uploads
from inventory import LAB_CONTAINER
from lab import targets, up

SECTIONS = ("serving", "deploy", "uploads", "browser")


def lab_running() -> bool:
    return any(c.name == LAB_CONTAINER and c.status == "running" for c in targets.client().containers.list())


def context() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"Measured on {platform.node() or 'this machine'}: {os.cpu_count()} cores, {memory:.0f} GiB, Docker containers booting systemd"


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, help="one section (default: all)")
    parser.add_argument("--image", default="debian:12", help="base image of every container (default: debian:12)")
    parser.add_argument("--rounds", type=int, default=3, help="serving: rounds per server and workload (default: 3)")
    parser.add_argument("--seconds", type=int, default=10, help="serving: seconds per wrk run (default: 10)")
    parser.add_argument("--connections", type=int, default=16, help="serving: wrk connections (default: 16)")
    parser.add_argument("--fleet", default="1,2,4,8", help="deploy: fleet sizes, comma-separated (default: 1,2,4,8)")
    parser.add_argument("--repeat", type=int, default=2, help="deploy: floor and one-host runs, alternated (default: 2)")
    parser.add_argument("--upload-mib", default="512,1024", help="uploads: image sizes in MiB, comma-separated (default: 512,1024)")
    parser.add_argument("--loads", type=int, default=10, help="browser: cold, warm and later loads per page and server (default: 10)")
    parser.add_argument("--upload-rounds", type=int, default=3, help="uploads: rounds per server and size (default: 3)")
    options = parser.parse_args()

    report.DOCS.mkdir(parents=True, exist_ok=True)
    sections = [options.only] if options.only else SECTIONS
    if {"serving", "uploads", "browser"} & set(sections) and not lab_running() and up.main(options.image) != 0:
        return 1
    if "serving" in sections:
        result = serving.measure(options.rounds, options.seconds, options.connections, log)
        (report.DOCS / "serving.md").write_text(report.serving_markdown(result, context()))
        report.serving_chart(result, report.DOCS / "serving.png")
        print_targets("Serving", report.serving_targets(result), report.DOCS / "serving.md")
    if "deploy" in sections:
        sizes = [int(size) for size in options.fleet.split(",")]
        result = deploy_speed.measure(options.image, sizes, options.repeat, log)
        (report.DOCS / "deploy.md").write_text(report.deploy_markdown(result, context()))
        report.deploy_chart(result, report.DOCS / "deploy.png")
        print_targets("Deploy", report.deploy_targets(result), report.DOCS / "deploy.md")
    if "uploads" in sections:
        sizes = [int(size) for size in options.upload_mib.split(",")]
        result = uploads.measure(sizes, options.upload_rounds, log)
        (report.DOCS / "uploads.md").write_text(report.uploads_markdown(result, context()))
        print((report.DOCS / "uploads.md").read_text())
    if "browser" in sections:
        result = browser.measure(options.loads, log)
        (report.DOCS / "browser.md").write_text(report.browser_markdown(result, context()))
        report.browser_chart(result, report.DOCS / "browser.png")
        print_targets("Browser", report.browser_targets(result), report.DOCS / "browser.md")
    return 0


def print_targets(section: str, checked: list[report.Target], written) -> None:
    print(f"\n{section} (table and chart: {written.relative_to(report.DOCS.parent.parent)})")
    for target in checked:
        print(f"  {'held  ' if target.held else 'MISSED'}  {target.what}: {target.measured}")


if __name__ == "__main__":
    sys.exit(main())
