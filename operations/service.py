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
    systemd.service(
        name="Restart memcached for its new configuration",
        service="memcached",
        restarted=True,
        _if=any_changed(*memcached_inputs),
    )
    systemd.service(name="memcached enabled and running", service="memcached", running=True, enabled=True)
    systemd.service(
        name="Restart Horizon for its new configuration",
        service="horizon",
        restarted=True,
        _if=any_changed(*uwsgi_inputs),
    )
    systemd.service(name="Horizon enabled and running", service="horizon", running=True, enabled=True)
    systemd.service(
        name="Reload NGINX for its new configuration",
        service="nginx",
        reloaded=True,
        _if=any_changed(*nginx_inputs),
    )
    systemd.service(name="NGINX enabled and running", service="nginx", running=True, enabled=True)
