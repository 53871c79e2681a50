"""Converge hosts to the OpenStack dashboard (Horizon) on NGINX + uWSGI.

    pyinfra inventory.py deploy.py

Each step is a deploy from ``operations/``; this file only puts them in order and wires the
changes of one step to the restarts and rebuilds of the next. Hosts of the
``horizon_loadbalancers`` group get HAProxy in front of the dashboard hosts instead.
"""

from pyinfra import host

from operations import horizon, look, memcached, metrics, nginx, plugins, policy, sessions, uwsgi, verify
from operations.apache import disable_apache
from operations.loadbalancer import balance_dashboards
from operations.packages import install_packages
from operations.repository import configure_repositories
from operations.service import run_services
from operations.settings import is_load_balancer, load_config, load_load_balancer_config
from operations.sudo_password import send_sudo_password_on_stdin
from operations.tls import install_certificates

# Over SSH, before the first command: sudo's password, if it has one, never on a command line.
send_sudo_password_on_stdin()

# Bad host data stops the run here, before any host has been changed.
if is_load_balancer(host):
    balance_dashboards(load_load_balancer_config(host))
else:
    config = load_config(host)
    sources = configure_repositories(config)
    disable_apache()
    packages = install_packages(config, sources)
    uwsgi_changes = uwsgi.install_uwsgi(config)
    plugin_changes = plugins.install_pip_plugins(config)
    look_changes = look.install_look(config)
    horizon_changes = horizon.configure_horizon(config, [*packages.operations(), *plugin_changes.operations()], look_changes)
    sessions.configure_session_database(config, horizon_changes.operations("horizon"))
    policy_changes = policy.configure_policy_overrides(config)
    memcached_changes = memcached.configure_memcached(config)
    certificates = install_certificates(config)
    nginx_changes = nginx.configure_nginx(config, certificates)
    metrics_changes = metrics.install_metrics(config)
    verify.install_site_check(config)
    # Every change above that a service must take in, with the files it reads from each step,
    # applied one dashboard host at a time.
    run_services(
        packages + uwsgi_changes + plugin_changes + horizon_changes + policy_changes + memcached_changes + certificates + nginx_changes
        + metrics_changes,
        config.drain_seconds,
    )
    verify.prove_site()
