"""A run stopped after writing a file and before the service reading it is restarted or reloaded
leaves the file newer than the service's stamp; the next run finds it so and applies it (see
operations/service.py). That holds only for the files the services declare: every file a run
writes must be one, or be taken in some other way, named here."""

from __future__ import annotations

import re
from fnmatch import fnmatch

import pytest

from operations.layout import (
    BRANDING_DIR,
    BUILD_STATIC,
    CHECK_SITE,
    CHECK_STATIC,
    CLEANUP_SERVICE,
    CLEANUP_TIMER,
    COMPRESS,
    DOCROOT,
    METRICS_TMPFILES,
    PIP_PLUGINS_SCRIPT,
    STAMPS,
    THEMES_DIR,
)
from tests.unit.planning import every_optional_file, plan

# Written by a run, read by no service, and taken in otherwise.
TAKEN_IN_OTHERWISE = {
    # The deploy's own scripts: run by the deploy (and by operators), never by a service.
    **dict.fromkeys((BUILD_STATIC, CHECK_STATIC, COMPRESS, PIP_PLUGINS_SCRIPT, CHECK_SITE), "run by the deploy"),
    # Inputs of the static build, whose own check finds them newer than its stamp.
    f"{THEMES_DIR}/*": "static build",
    f"{BRANDING_DIR}/*": "static build",
    # NGINX reads these at each request.
    f"{DOCROOT}/*": "served as files",
    # systemd's own NeedDaemonReload tells the next run to reload it (operations/sessions.py).
    CLEANUP_SERVICE: "systemd",
    CLEANUP_TIMER: "systemd",
    # apt reads its sources when an install needs the index refreshed (operations/packages.py).
    "/etc/apt/sources.list.d/*": "apt",
    # systemd-tmpfiles applies it at boot, and the run whenever the directory differs from it
    # (operations/metrics.py).
    METRICS_TMPFILES: "systemd-tmpfiles",
}


@pytest.fixture(scope="module")
def operator_files(tmp_path_factory):
    return every_optional_file(tmp_path_factory.mktemp("operator"))


def declared_files(commands: list[str]) -> set[str]:
    """The files the services declare, as the run's check for an interrupted run names them."""
    checks = [command for command in commands if f"-newer {STAMPS}/" in command]
    assert checks, "no check for an interrupted run in the plan"
    return {path for check in checks for found in re.findall(r"find (.*?) -newer ", check) for path in found.split()}


@pytest.mark.parametrize("platform", ["debian:12", "ubuntu:24.04"])
def test_every_file_a_run_writes_is_read_again_after_an_interrupted_run(platform, operator_files):
    result = plan(platform, **operator_files)
    declared = declared_files(result.commands)
    patterns = [*declared, *TAKEN_IN_OTHERWISE]
    forgotten = sorted(path for path in result.uploads if not any(path == pattern or fnmatch(path, pattern) for pattern in patterns))
    assert not forgotten, f"written, yet no service declares them: {forgotten}"
