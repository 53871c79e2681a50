"""The ceiling for the login page: how many one core renders with Django called in-process.

Run on the dashboard host as Horizon's user, pinned to one core: the WSGI application uWSGI
loads (from its ini), called directly with the request a browser's first visit makes, with no
server, no socket and no TLS in between. Prints pages per second.
"""

import io
import os
import runpy
import sys
import time

WARM_UP = 50
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 15


def application():
    ini = dict(line.split(" = ", 1) for line in open("/etc/uwsgi/horizon.ini").read().splitlines() if " = " in line)
    os.chdir(ini["chdir"])
    sys.path.insert(0, ini["chdir"])
    if "wsgi-file" in ini:
        return runpy.run_path(ini["wsgi-file"])["application"]
    module, name = ini["module"].split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def login_page(app) -> None:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/auth/login/", "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost", "HTTPS": "on", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"the login page answered {statuses[0]}")


app = application()
for _ in range(WARM_UP):
    login_page(app)
pages, started = 0, time.perf_counter()
while time.perf_counter() - started < SECONDS:
    login_page(app)
    pages += 1
print(f"{pages / (time.perf_counter() - started):.1f}")
