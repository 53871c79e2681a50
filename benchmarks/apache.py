"""The same Horizon under Apache + mod_wsgi, beside this project's NGINX + uWSGI, in the lab container.

Two Apache instances (Debian's multi-instance layout, ``apache2@NAME``, so that each has its
own processes and its memory can be counted apart), both over TLS with the dashboard's own
certificate, both serving the same settings, code and static files as the uWSGI site:

- ``stock``: the site ``openstack-dashboard-apache`` enables, as Debian ships it (only its
  port and certificate changed). Its ``WSGIProcessGroup`` is commented out, so Horizon runs
  embedded in Apache's own worker processes, as Apache's user: here ``horizon`` instead of
  ``www-data``, because this deploy keeps the settings and secret key from other users.
- ``tuned``: mod_wsgi's daemon mode with this deploy's uWSGI processes and threads, as the
  mature deployment tools configure it (openstack-ansible, kolla-ansible, puppet-horizon).

The lab container is changed for good (Apache installed, which also makes Debian's package
collect the static files again: the deploy is run once more before measuring); ``lab/up``
starts a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.wrk import run
from inventory import LAB_CONTAINER
from lab import targets
from operations.layout import TLS_CERTIFICATE, TLS_KEY

STOCK_SITE = "/etc/apache2/sites-available/openstack-dashboard-ssl.conf"


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    # The systemd units whose processes serve it: their memory is the server's.
    units: tuple[str, ...]


NGINX_UWSGI = Server("NGINX + uWSGI", 443, ("nginx.service", "horizon.service"))
APACHE_STOCK = Server("Apache stock", 8441, ("apache2@stock.service",))
APACHE_TUNED = Server("Apache tuned", 8442, ("apache2@tuned.service",))

INSTALL = f"""
set -e
# Nothing may start while the packages go in: Apache would reach for NGINX's ports.
printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q openstack-dashboard-apache >/dev/null
a2enmod -q ssl headers wsgi >/dev/null
for name in stock tuned; do
    rm -rf /etc/apache2-$name /var/log/apache2-$name
    cp -a /etc/apache2 /etc/apache2-$name
    mkdir -p /var/log/apache2-$name
    rm -f /etc/apache2-$name/sites-enabled/*
done
sed -e 's/<VirtualHost \\*:443>/<VirtualHost *:{APACHE_STOCK.port}>/' \\
    -e 's|SSLCertificateFile .*|SSLCertificateFile {TLS_CERTIFICATE}|' \\
    -e 's|SSLCertificateKeyFile .*|SSLCertificateKeyFile {TLS_KEY}|' \\
    {STOCK_SITE} >/etc/apache2-stock/sites-enabled/horizon.conf
sed -i -e 's/^export APACHE_RUN_USER=.*/export APACHE_RUN_USER=horizon/' \
    -e 's/^export APACHE_RUN_GROUP=.*/export APACHE_RUN_GROUP=horizon/' /etc/apache2-stock/envvars
echo 'Listen {APACHE_STOCK.port}' >/etc/apache2-stock/ports.conf
echo 'Listen {APACHE_TUNED.port}' >/etc/apache2-tuned/ports.conf
"""

TUNED_SITE = """
<VirtualHost *:{port}>
    SSLEngine on
    SSLCertificateFile {certificate}
    SSLCertificateKeyFile {key}
    # Daemon mode, as many processes and threads as uWSGI has, as Horizon's own user.
    WSGIDaemonProcess horizon user=horizon group=horizon processes={processes} threads={threads} display-name=%{{GROUP}}
    WSGIProcessGroup horizon
    WSGIApplicationGroup %{{GLOBAL}}
    {script_alias}
    Alias /static /var/lib/openstack-dashboard/static
    <Location /static>
        Header set Cache-Control "public, max-age=2592000"
    </Location>
    <Directory /usr/share/openstack-dashboard>
        Require all granted
    </Directory>
    <Directory /var/lib/openstack-dashboard/static>
        Require all granted
    </Directory>
    ErrorLog /var/log/apache2-tuned/error.log
    CustomLog /var/log/apache2-tuned/access.log combined
</VirtualHost>
"""


def uwsgi_workers(container) -> tuple[int, int]:
    """The processes and threads of the deployed uWSGI (its ini on the host)."""
    ini = dict(
        line.split(" = ", 1) for line in run(container, "cat /etc/uwsgi/horizon.ini").splitlines() if " = " in line
    )
    return int(ini["processes"]), int(ini["threads"])


def install_apache_variants(container) -> None:
    """Apache, mod_wsgi and Debian's dashboard site in, and both instances configured (again)."""
    run(container, INSTALL)


def start_apache_variants(container) -> None:
    """Both instances started (afresh), the tuned one with uWSGI's processes and threads."""
    processes, threads = uwsgi_workers(container)
    script_alias = run(container, f"grep -m1 WSGIScriptAlias {STOCK_SITE}").strip()
    site = TUNED_SITE.format(
        port=APACHE_TUNED.port, certificate=TLS_CERTIFICATE, key=TLS_KEY, processes=processes, threads=threads,
        script_alias=script_alias,
    )
    run(container, f"cat >/etc/apache2-tuned/sites-enabled/horizon.conf <<'SITE'\n{site}SITE\n")
    for name in ("stock", "tuned"):
        run(container, f"systemctl restart apache2@{name} && systemctl is-active apache2@{name}")


def serve_with_apache_too(container, log) -> None:
    """Both Apache instances running beside the deploy's site in the lab container."""
    log("installing Apache + mod_wsgi (openstack-dashboard-apache) beside the deploy's site")
    install_apache_variants(container)
    # Installing it made Debian's package collect the static files again, without their gzip
    # twins: the deploy puts the dashboard back as it keeps it.
    rerun = targets.deploy(LAB_CONTAINER)
    if rerun.returncode != 0:
        raise RuntimeError(f"re-running the deploy failed:\n{rerun.stderr[-3000:]}")
    start_apache_variants(container)
