"""The operator's policy overrides: one file per service, where Horizon's settings point oslo.policy."""

from __future__ import annotations

import json

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import server

from . import remove_all_but
from .layout import HORIZON_USER, POLICY_OVERRIDES_DIR, POLICY_OVERRIDES_FILE
from .service import Changes
from .settings import HorizonConfig
from .whole import whole_file

# What a reload makes Horizon read (see service.py); a removed file changes its directory.
FILES = (f"{POLICY_OVERRIDES_DIR}/*", f"{POLICY_OVERRIDES_DIR}/*/{POLICY_OVERRIDES_FILE}")


def overrides_yaml(rules) -> str:
    """One ``"rule": "check"`` line per rule: YAML, with JSON's quoting of any character (oslo.policy
    warns about a file that is JSON as a whole)."""
    lines = [f"{json.dumps(rule)}: {json.dumps(check)}" for rule, check in rules]
    return "# Managed by pyinfra (horizon_policy_overrides). Local changes are overwritten on the next run.\n" + "\n".join(lines) + "\n"


@deploy("Policy overrides")
def configure_policy_overrides(config: HorizonConfig) -> Changes:
    """
    ``horizon_policy_overrides`` as ``POLICY_OVERRIDES_DIR/SERVICE/horizon-deploy.yaml``,
    readable by Horizon only; the file of a service no longer listed is removed. Horizon
    reloads for them (it reads policy once).
    """
    wanted = {f"{POLICY_OVERRIDES_DIR}/{service}/{POLICY_OVERRIDES_FILE}": rules for service, rules in config.policy_overrides}
    written = [
        whole_file(
            name=f"Policy overrides {path}",
            path=path,
            content=overrides_yaml(rules),
            user="root",
            group=HORIZON_USER,
            mode="0640",
        )
        for path, rules in wanted.items()
    ]
    present = (host.get_fact(Command, f"ls {POLICY_OVERRIDES_DIR}/*/{POLICY_OVERRIDES_FILE} 2>/dev/null || true") or "").split()
    removed = remove_all_but(
        "Policy overrides no longer in the host data",
        wanted,
        present,
        lambda dropped: [server.shell(name="Remove policy overrides no longer in the host data", commands=[f"rm -f {' '.join(dropped)}"])],
    )
    return Changes.of("horizon", reload=[*written, *removed], files=FILES)
