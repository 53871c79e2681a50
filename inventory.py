"""Which hosts get the dashboard.

With no HORIZON_HOSTS in the environment this is the local lab: the systemd container that
``lab/up`` starts (``@docker/horizon-lab``). To deploy to real hosts over SSH, either list them

    HORIZON_HOSTS=dash1.example.com,dash2.example.com pyinfra inventory.py deploy.py

or replace ``horizon`` below with your own hosts and their data, for example

    horizon = [
        ("dash1.example.com", {**SECRETS, "horizon_keystone_url": "https://keystone.example.com:5000/v3"}),
    ]

Group-wide settings go in ``group_data/horizon.py`` or ``group_data/all.py``; every key and its
default is in ``operations/settings/keys.py`` and the README. Secrets come from the environment
(``SECRETS_FROM_ENVIRONMENT`` below) into ``SECRETS``: keep it in your hosts' data.
"""

import os

LAB_CONTAINER = os.environ.get("HORIZON_LAB_CONTAINER", "horizon-lab")
LAB_KEYSTONE = "horizon-lab-keystone"
LAB_PORT = int(os.environ.get("HORIZON_LAB_PORT", "8443"))

# What the lab needs beyond the defaults: the browser reaches the container through a port
# published on this machine's loopback, so those are the host names it sends; the lab's
# Keystone (lab/keystone.py) is another container on the same network.
LAB_DATA = {
    "horizon_server_name": "localhost",
    "horizon_allowed_hosts": ["localhost", "127.0.0.1"],
    "horizon_keystone_url": f"http://{LAB_KEYSTONE}:5000/v3",
}

# Secrets from the environment (a vault's output, a CI secret store), never written here.
SECRETS_FROM_ENVIRONMENT = {
    "horizon_secret_key": "HORIZON_SECRET_KEY",
    "horizon_database_password": "HORIZON_DATABASE_PASSWORD",
    # pyinfra's own host data for sudo's password, with --sudo (over SSH as a user whose sudo asks).
    "_sudo_password": "HORIZON_SUDO_PASSWORD",
}
SECRETS = {key: os.environ[name] for key, name in SECRETS_FROM_ENVIRONMENT.items() if os.environ.get(name)}

_named = [name.strip() for name in os.environ.get("HORIZON_HOSTS", "").split(",") if name.strip()]

horizon = [(name, SECRETS) for name in _named] or [(f"@docker/{LAB_CONTAINER}", {**LAB_DATA, **SECRETS})]
