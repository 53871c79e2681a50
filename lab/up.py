"""``lab/up``: start the lab target and deploy Horizon to it, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

from inventory import LAB_CONTAINER, LAB_PORT
from lab import targets


def main(image: str = "debian:12") -> int:
    print(f"starting {LAB_CONTAINER} from {image}", file=sys.stderr)
    targets.start(LAB_CONTAINER, image, publish={80: LAB_PORT})
    print("running: pyinfra inventory.py deploy.py", file=sys.stderr)
    run = subprocess.run(targets.pyinfra_command(json_output=False), cwd=targets.ROOT, env=dict(os.environ))
    if run.returncode != 0:
        return run.returncode
    url = f"http://localhost:{LAB_PORT}/"
    with urllib.request.urlopen(url + "auth/login/", timeout=30) as response:
        status = response.status
    print(f"login page answered {status}", file=sys.stderr)
    print(f"Horizon: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
