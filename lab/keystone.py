"""The lab's identity service: Debian's own keystone package, SQLite, an admin bootstrapped once.

    HORIZON_LAB_ADMIN_PASSWORD=... pyinfra @docker/horizon-lab-keystone lab/keystone.py

Lab code, not part of the product: it gives the lab's dashboards a real Keystone to log in to.
The admin password comes from the environment (never from a command line) and lands in 0600
files only. Keystone's public endpoint is ``http://<container name>:5000/v3`` on the lab network.
"""

import json
import os

from pyinfra import host
from pyinfra.facts.files import Directory, File
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from lab.openstack_service import TEMPLATES, configured, running
from operations.secret import secret_file

REGION = "RegionOne"
PASSWORD_FILE = "/etc/keystone/lab-admin-password"
DATABASE = "/var/lib/keystone/keystone.sqlite"

public_url = f"http://{host.name.rpartition('/')[2]}:5000/v3"
password = os.environ["HORIZON_LAB_ADMIN_PASSWORD"]
database_missing = not host.get_fact(File, path=DATABASE)


def as_keystone(command: str) -> str:
    return f"runuser -u keystone -- keystone-manage {command}"


config = configured("Keystone", "keystone", "keystone.conf.j2", "/etc/keystone/keystone.conf", group="keystone")
schema = server.shell(
    name="Keystone database schema",
    commands=[
        as_keystone("db_sync"),
        # Write-ahead logging: readers then never block a writer. In SQLite's default mode a
        # read left open by one of Keystone's many workers fails every write with "database
        # is locked".
        f"runuser -u keystone -- sqlite3 {DATABASE} 'PRAGMA journal_mode=WAL;'",
    ],
    _if=lambda: database_missing or config.did_change(),
)
for kind in ("fernet", "credential"):
    if host.get_fact(Directory, path=f"/etc/keystone/{kind}-keys"):
        host.noop(f"Keystone's {kind} keys exist: kept, or every token and credential would be lost")
    else:
        server.shell(
            name=f"Keystone {kind} keys",
            commands=[f"keystone-manage {kind}_setup --keystone-user keystone --keystone-group keystone"],
        )
admin_password = secret_file(
    name="Lab admin password",
    path=PASSWORD_FILE,
    user="root",
    group="root",
    value=password,
)
server.shell(
    name="Bootstrap the admin user, project, role, region and identity endpoint",
    commands=[
        f'OS_BOOTSTRAP_PASSWORD="$(cat {PASSWORD_FILE})" '
        + as_keystone(
            "bootstrap --bootstrap-username admin --bootstrap-project-name admin "
            f"--bootstrap-role-name admin --bootstrap-service-name keystone "
            f"--bootstrap-region-id {REGION} --bootstrap-public-url {public_url}"
        )
    ],
    _if=any_changed(schema, admin_password),
)
files.template(
    name="clouds.yaml for the openstack client",
    src=str(TEMPLATES / "clouds.yaml.j2"),
    dest="/root/.config/openstack/clouds.yaml",
    user="root",
    group="root",
    mode="0644",
    public_url=public_url,
    region=REGION,
)
secret_file(
    name="The openstack client's copy of the admin password",
    path="/root/.config/openstack/secure.yaml",
    user="root",
    group="root",
    # JSON is YAML: the password needs no escaping rules of its own.
    value=json.dumps({"clouds": {"lab": {"auth": {"password": password}}}}),
)
# Debian sizes Keystone for a server of its own: 8 uWSGI processes, each loading Keystone after
# the fork (lazy-apps). On the lab's two cores, beside the dashboards' deploys, the first token
# after a restart then took 33 s, longer than the dashboard's API timeout: the first login
# failed. Two processes load in a few seconds and are plenty for the lab's users.
workers = files.line(
    name="Keystone's uWSGI sized for the lab",
    path="/etc/keystone/keystone-uwsgi.ini",
    line=r"^processes = .*",
    replace="processes = 2",
)
running("Keystone", "keystone", [config, schema, workers])
