"""``lab/up``: a lab Keystone with Glance beside it, and a lab dashboard deployed to by
`pyinfra inventory.py deploy.py`."""

from __future__ import annotations

import ssl
import subprocess
import sys
import urllib.request

from inventory import LAB_CONTAINER, LAB_KEYSTONE, LAB_PORT
from lab import identity, targets
from operations.layout import TLS_CERTIFICATE


def main(image: str = "debian:12") -> int:
    print(f"starting {LAB_KEYSTONE} and provisioning it (lab/keystone.py)", file=sys.stderr)
    keystone = identity.start_keystone(LAB_KEYSTONE)
    print(f"starting {LAB_CONTAINER} from {image}", file=sys.stderr)
    container = targets.start(LAB_CONTAINER, image, publish={443: LAB_PORT})
    print("running: pyinfra inventory.py deploy.py", file=sys.stderr)
    run = subprocess.Popen(targets.pyinfra_command(json_output=False), cwd=targets.ROOT)
    # Meanwhile: Glance beside Keystone, in the catalog, uploads allowed from the lab's browser.
    keystone.wait()
    print(f"provisioning Glance in {LAB_KEYSTONE} (lab/glance.py)", file=sys.stderr)
    identity.provide_glance(keystone, [f"https://localhost:{LAB_PORT}"])
    keystone.set_services(identity.LAB_CATALOG)
    if run.wait() != 0:
        return run.returncode
    # The lab's certificate is self-signed: trust exactly it, as a browser told to would.
    certificate = container.exec_run(["cat", TLS_CERTIFICATE]).output.decode()
    context = ssl.create_default_context(cadata=certificate)
    url = f"https://localhost:{LAB_PORT}/"
    with urllib.request.urlopen(url + "auth/login/", timeout=30, context=context) as response:
        print(f"login page answered {response.status}", file=sys.stderr)
    print(f"Horizon: {url} (self-signed certificate: the browser asks once)")
    print(f"Log in as: {identity.ADMIN} / {keystone.admin_password} (domain Default)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
