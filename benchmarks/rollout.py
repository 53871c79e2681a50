"""Changes rolled out to the lab dashboard while people use it:
``HORIZON_LAB_ADMIN_PASSWORD=... benchmarks/rollout [--visitors 3] [--users 2]``.

Against the lab (run lab/up first; it prints the admin password): for each change below, the
deploy runs while anonymous visitors fetch the login page and every asset it names, and
logged-in users (real sessions from the lab Keystone) fetch Identity → Projects, for the whole
run and 10 s after it (tests/integration/traffic.py). It prints, per change, how long the run
took and what users saw: requests served, failed answers, assets missing, users logged out, the
longest answer, and the requests sent again on a new connection as a browser does (a kept-alive
connection NGINX closed as it reloaded). Figures only: nothing here passes or fails, and a shared machine may be slow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks import lab_container
from inventory import LAB_CONTAINER, LAB_PORT
from lab import identity, targets
from operations.layout import TLS_CERTIFICATE
from tests.integration.dashboard import PROJECTS, DashboardUser, title
from tests.integration.traffic import Traffic

# (what changes, the data that changes it); the last puts the lab's defaults back.
CHANGES = (
    ("NGINX only (static files' max-age)", ("horizon_static_max_age=600",)),
    ("Horizon's settings (the site's name): reload and static rebuild", ("horizon_site_branding=Rolled Out",)),
    ("both back to the defaults", ()),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=3, help="anonymous visitors (default: 3)")
    parser.add_argument("--users", type=int, default=2, help="logged-in users (default: 2)")
    options = parser.parse_args()
    password = os.environ.get("HORIZON_LAB_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("HORIZON_LAB_ADMIN_PASSWORD is not set: lab/up prints the admin password")

    container = lab_container()
    certificate_path = f"/tmp/{LAB_CONTAINER}-certificate.pem"
    with open(certificate_path, "wb") as certificate:
        certificate.write(container.exec_run(["cat", TLS_CERTIFICATE]).output)
    url = f"https://localhost:{LAB_PORT}/"
    users = [DashboardUser(url, certificate_path) for _ in range(options.users)]
    for user in users:
        if title(user.login(identity.ADMIN, password).text) != PROJECTS:
            raise SystemExit(f"could not log in as {identity.ADMIN} with HORIZON_LAB_ADMIN_PASSWORD")

    print(f"{options.visitors} anonymous visitors and {options.users} logged-in users, during each run and 10 s after", file=sys.stderr)
    print("| change | run s | requests | failed | assets missing | logged out | longest s | resent |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for change, data in CHANGES:
        with Traffic(url, certificate_path, options.visitors, users) as traffic:
            started = time.monotonic()
            run = targets.deploy(LAB_CONTAINER, *data)
            seconds = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"the run for {change} failed:\n{run.stderr[-2000:]}")
        figures = traffic.figures
        print(
            f"| {change} | {seconds:.0f} | {figures.requests} | {len(figures.failures)} | {len(figures.missing_assets)} "
            f"| {figures.logged_out} | {figures.longest:.2f} | {figures.resent} |"
        )
        for failure in (figures.failures + figures.missing_assets)[:5]:
            print(f"  e.g. {failure}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
