"""The code the deploy writes as strings, checked by the tools that check code: every shell
command a run sends to a host (ShellCheck, as Debian's and Ubuntu's /bin/sh, dash, runs them)
and every Python file it renders (ruff, with this project's rules)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from operations import TEMPLATES, render
from operations.settings import HostFacts, resolve
from tests.unit.planning import every_optional_file, plan

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"
# The names Horizon's settings module holds when it execs the drop-ins.
SETTINGS_NAMESPACE = ["HORIZON_CONFIG", "MIDDLEWARE", "AVAILABLE_THEMES", "POLICY_DIRS", "SIMULTANEOUS_SESSIONS"]
# Long lines come from the data (a URL, a list of hosts); a drop-in imports where it needs to.
NOT_FOR_RENDERED = ["E501", "E402"]


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    return every_optional_file(tmp_path_factory.mktemp("operator"))


@pytest.mark.parametrize("platform", ["debian:12", "ubuntu:24.04"])
@pytest.mark.parametrize("with_everything", [False, True], ids=["defaults", "every-optional-file"])
def test_every_shell_command_a_run_sends_passes_shellcheck(platform, with_everything, everything):
    commands = sorted(set(plan(platform, **(everything if with_everything else {})).commands))
    failing = []
    for command in commands:
        check = subprocess.run(["shellcheck", "--shell=dash", "--severity=warning", "-"], input=command, capture_output=True, text=True)
        if check.returncode:
            failing.append(check.stdout)
    assert not failing, "\n".join(failing)


def rendered_python(directory: Path, data: dict) -> list[Path]:
    """Every template that renders Python, rendered for ``data`` into ``directory``."""
    config = resolve(data, HostFacts(os_id="debian", os_version="12", fqdn="dash.example.com", cpus=2))
    site = {"tls": True, "port": 443, "server_name": "dash.example.com", "webroot": "/", "health_path": "/healthz",
            "marker": "0123456789abcdef", "dropin": config.settings_dropin, "dropin_dir": "/etc/openstack-dashboard/local_settings.d",
            "client_certificates": False, "wait": 35, "metrics": [["http://10.0.0.5:9113/metrics", "nginx_up"]]}
    written = []
    for template in sorted(TEMPLATES.glob("*.j2")):
        if template.name.endswith(".py.j2") or "python" in template.read_text().partition("\n")[0]:
            path = directory / f"{template.name.removesuffix('.j2').removesuffix('.py')}.py"
            path.write_text(render(template.name, config=config, settings_marker="0123456789abcdef", site=site))
            written.append(path)
    return written


@pytest.mark.parametrize("with_everything", [False, True], ids=["defaults", "every-optional-file"])
def test_the_python_the_deploy_writes_passes_the_projects_linter(with_everything, everything, tmp_path):
    files = rendered_python(tmp_path, everything if with_everything else {})
    assert {path.name for path in files} >= {"horizon-settings.py", "horizon-check-site.py", "horizon-compress.py"}
    builtins = "builtins = [" + ", ".join(f'"{name}"' for name in SETTINGS_NAMESPACE) + "]"
    lint = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--config", str(ROOT / "ruff.toml"), "--config", builtins,
         "--extend-ignore", ",".join(NOT_FOR_RENDERED), *map(str, files)],
        capture_output=True, text=True,
    )
    assert lint.returncode == 0, lint.stdout
