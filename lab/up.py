"""``lab/up``: a lab Keystone and a lab dashboard deployed to by `pyinfra inventory.py deploy.py`."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

from inventory import LAB_CONTAINER, LAB_KEYSTONE, LAB_PORT
from lab import identity, targets


def main(image: str = "debian:12") -> int:
    print(f"starting {LAB_KEYSTONE} and provisioning it (lab/keystone.py)", file=sys.stderr)
    keystone = identity.start_keystone(LAB_KEYSTONE)
    print(f"starting {LAB_CONTAINER} from {image}", file=sys.stderr)
    targets.start(LAB_CONTAINER, image, publish={80: LAB_PORT})
    print("running: pyinfra inventory.py deploy.py", file=sys.stderr)
    run = subprocess.run(targets.pyinfra_command(json_output=False), cwd=targets.ROOT)
    keystone.wait()
    if run.returncode != 0:
        return run.returncode
    url = f"http://localhost:{LAB_PORT}/"
    with urllib.request.urlopen(url + "auth/login/", timeout=30) as response:
        print(f"login page answered {response.status}", file=sys.stderr)
    print(f"Horizon: {url}")
    print(f"Log in as: {identity.ADMIN} / {keystone.admin_password} (domain Default)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
