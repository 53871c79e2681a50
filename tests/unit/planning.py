"""Run deploy.py against pyinfra's @fake connector: the plan a host with given facts would get.

Nothing is executed anywhere; the fake host answers fact commands from canned output (an
os-release file, a host name, a CPU count) and records every command the deploy sends.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from io import BytesIO, StringIO
from pathlib import Path
from unittest.mock import patch

import pyinfra
from pyinfra import context
from pyinfra.api import Config, FileUploadCommand, Inventory, State
from pyinfra.api.connect import connect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operations import run_ops
from pyinfra.api.state import StateStage

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy.py"

OS_RELEASES = {
    "debian:12": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm',
    "debian:13": 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\nVERSION_CODENAME=trixie',
    "ubuntu:22.04": 'PRETTY_NAME="Ubuntu 22.04.5 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy',
    "ubuntu:24.04": 'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\nVERSION_CODENAME=noble',
    "rocky:9": 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.4"',
}


@dataclass
class Plan:
    commands: list[str]
    uploads: dict[str, str]

    def ran(self, fragment: str) -> bool:
        return any(fragment in command for command in self.commands)


def plan(platform: str, site_check: str = "exit 0", **data) -> Plan:
    """Everything deploy.py would do to a fresh ``platform`` host with ``data``; the site check
    at the end of the run answers ``site_check``. A host the run fails raises pyinfra's error."""
    name = "@fake/target"
    plans, failure = plan_hosts(platform, {name: {"horizon-check-site 2>&1": site_check.splitlines()}}, **data)
    if failure is not None:
        raise failure
    return plans[name]


def plan_hosts(platform: str, hosts: dict[str, dict], **data) -> tuple[dict[str, Plan], PyinfraError | None]:
    """deploy.py run once against several fresh ``platform`` hosts, each with ``data`` and its
    own canned answers (pyinfra's fake connector: a substring of a command, or a pattern, to its
    output or to ``{"success": False}``): the plan of each, and pyinfra's error if the run
    ended in one (every host failed, or an operation stopped the run)."""
    common = {
        "cat /etc/os-release": OS_RELEASES[platform].splitlines(),
        "hostname -f": "dash.example.com",
        "getconf NPROCESSORS_ONLN": "2",
        # Which commands make system users and groups.
        "uname -s": "Linux",
    }
    inventory = Inventory((
        [(name, {**data, "fake_delay": 0, "fake_delay_jitter": 0, "fake_responses": {**responses, **common}})
         for name, responses in hosts.items()],
        {},
    ))
    state = State(inventory, Config())
    failure = None
    with context.ctx_state.use(state):
        state.set_stage(StateStage.Connect)
        connect_all(state)
        state.set_stage(StateStage.Prepare)
        # What the CLI's load_deploy_file does for each host. Not imported from pyinfra_cli:
        # importing it monkey-patches the standard library for gevent, which deadlocks
        # pytest-xdist's workers.
        state.current_deploy_filename = state.current_exec_filename = str(DEPLOY)
        # As the CLI does, operations are matched across hosts by where deploy.py calls them,
        # not by how many came before: hosts may run different operations.
        with patch.object(pyinfra, "is_cli", True):
            for host in inventory:
                with context.ctx_config.use(state.config.copy()), context.ctx_host.use(host):
                    exec(compile(DEPLOY.read_text(), str(DEPLOY), "exec"), {"__file__": str(DEPLOY)})
        state.set_stage(StateStage.Execute)
        try:
            run_ops(state)
        except PyinfraError as error:
            failure = error
    return {host.name: _plan_of(state, host) for host in inventory}, failure


def _plan_of(state: State, host) -> Plan:
    uploads = {}
    for op in state.ops[host].values():
        for command in op.operation_meta._commands or ():
            if isinstance(command, FileUploadCommand) and isinstance(command.src, (StringIO, BytesIO)):
                content = command.src.getvalue()
                # Keyed by the file the upload ends up as: whole_file uploads beside it, then renames.
                final = re.sub(r"/\.([^/]+)\.pyinfra-new$", r"/\1", command.dest)
                uploads[final] = content.decode() if isinstance(content, bytes) else content
    return Plan(commands=list(host.connector.executed_commands), uploads=uploads)


def every_optional_file(directory: Path) -> dict:
    """Host data giving every optional file an operator can (made in ``directory``) and every
    feature that writes one, so that a plan writes every file a run can."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    (directory / "customization.py").write_text("# the operator's\n")
    (directory / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    theme = directory / "theme"
    theme.mkdir()
    (theme / "_variables.scss").write_text("$brand-primary: #005a9c;\n")
    (theme / "_styles.scss").write_text("body {}\n")
    return {
        "horizon_tls_certificate": str(certificate),
        "horizon_tls_key": str(key),
        "horizon_tls_client_ca": str(certificate),
        "horizon_api_ca_certificate": str(certificate),
        "horizon_customization_module": str(directory / "customization.py"),
        "horizon_session_engine": "db",
        "horizon_database_host": "db.example.com",
        "horizon_database_password": "s3cret",
        "horizon_pip_plugins": "heat-dashboard==13.0.0",
        "horizon_logo": str(directory / "logo.svg"),
        "horizon_themes": json.dumps({"operator": str(theme)}),
        "horizon_policy_overrides": json.dumps({"identity": {"identity:list_projects": ""}}),
        # Not files, but what they add to the settings drop-in is rendered with them.
        "horizon_operation_log": True,
        "horizon_logging": json.dumps({"handlers": {"syslog": {"class": "logging.handlers.SysLogHandler"}}}),
        "horizon_metrics_listen": "10.0.0.5",
    }
