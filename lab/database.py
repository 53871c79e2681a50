"""The lab's database server, for dashboards that keep sessions in a database: Debian's MariaDB,
reachable on the lab network, with a ``horizon`` database and user.

    HORIZON_LAB_DATABASE_PASSWORD=... pyinfra @docker/horizon-lab-keystone lab/database.py

Lab code, not part of the product. The password comes from the environment and reaches
MariaDB on its standard input, never on a command line; the statements run on every run, so a
failed one is tried again.
"""

import os
from io import StringIO

from pyinfra.operations import files, server, systemd

from operations.packages import install
from operations.secret import secret_file

PASSWORD_FILE = "/etc/mysql/lab-horizon-password"

install("MariaDB", ["mariadb-server"])
listen = files.put(
    name="MariaDB listens on the lab network",
    # Debian's MariaDB listens on the loopback only.
    src=StringIO("[mysqld]\nbind-address = 0.0.0.0\n"),
    dest="/etc/mysql/mariadb.conf.d/90-lab.cnf",
    user="root",
    group="root",
    mode="0644",
)
systemd.service(name="MariaDB restarted to listen there", service="mariadb", restarted=True, _if=listen.did_change)
systemd.service(name="MariaDB running", service="mariadb", running=True, enabled=True)
secret_file(
    name="Password of the horizon user",
    path=PASSWORD_FILE,
    user="root",
    group="root",
    value=os.environ["HORIZON_LAB_DATABASE_PASSWORD"],
)
server.shell(
    name="Database and user horizon",
    commands=[
        "mariadb <<SQL\n"
        "CREATE DATABASE IF NOT EXISTS horizon CHARACTER SET utf8mb4;\n"
        f"CREATE OR REPLACE USER 'horizon'@'%' IDENTIFIED BY '$(cat {PASSWORD_FILE})';\n"
        "GRANT ALL PRIVILEGES ON horizon.* TO 'horizon'@'%';\n"
        "SQL"
    ],
)
