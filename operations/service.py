"""The services: restarted or reloaded only when their inputs changed, then enabled and running."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed


@deploy("Services")
def run_services(memcached_inputs: Sequence, uwsgi_inputs: Sequence, nginx_inputs: Sequence):
    """
    memcached, horizon (uWSGI) and NGINX enabled and running. memcached restarts when its
    configuration changed (sessions are lost: users log in again). Horizon restarts when its
    code, configuration or static files changed; NGINX reloads (no dropped connections) when
    its site did. A unit that is not running yet is started instead.
    """
    for service, inputs, action in (
        ("memcached", memcached_inputs, "restarted"),
        ("horizon", uwsgi_inputs, "restarted"),
        ("nginx", nginx_inputs, "reloaded"),
    ):
        systemd.service(
            name=f"{action.removesuffix('ed').capitalize()} {service} for its new configuration",
            service=service,
            _if=any_changed(*inputs),
            **{action: True},
        )
        systemd.service(name=f"{service} enabled and running", service=service, running=True, enabled=True)
