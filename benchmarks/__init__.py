"""Commands that measure the lab dashboard (``lab/up`` first) and print figures."""

from __future__ import annotations

from pathlib import Path

import docker

from inventory import LAB_CONTAINER
from lab import targets


class NoLab(SystemExit):
    def __init__(self):
        super().__init__(f"no running {LAB_CONTAINER} container: run lab/up first")


def lab_container(tool: str | None = None):
    """The running lab container, with the distribution's ``tool`` package installed in it if one is named."""
    try:
        container = targets.client().containers.get(LAB_CONTAINER)
    except docker.errors.NotFound:
        raise NoLab() from None
    if container.status != "running":
        raise NoLab()
    if tool is None:
        return container
    installed = container.exec_run(
        ["sh", "-c", f"command -v {tool} >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q {tool}"]
    )
    if installed.exit_code != 0:
        raise SystemExit(f"could not install {tool} in {LAB_CONTAINER}: {installed.output.decode(errors='replace')}")
    return container


def copy_script(container, name: str) -> str:
    """This directory's script ``name`` copied into ``container``; its path there."""
    path = f"/tmp/horizon-{name}"
    script = (Path(__file__).parent / name).read_text()
    result = container.exec_run(["sh", "-c", f"cat >{path} <<'SCRIPT'\n{script}SCRIPT\n"])
    if result.exit_code != 0:
        raise RuntimeError(f"copying {name} into the container: {result.output.decode(errors='replace')}")
    return path
