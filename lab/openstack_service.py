"""What the lab's OpenStack services (lab/keystone.py, lab/glance.py) have in common: Debian's
package, a configuration file from lab/templates readable by the service's group only, and a
restart when something it reads changed."""

from pathlib import Path

from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from operations.packages import install

TEMPLATES = Path(__file__).resolve().parent / "templates"


def configured(name: str, package: str, template: str, dest: str, group: str, **variables):
    """``package`` installed and ``dest`` rendered from ``template``; the file's operation."""
    install(name, [package])
    return files.template(
        name=Path(dest).name,
        src=str(TEMPLATES / template),
        dest=dest,
        user="root",
        group=group,
        mode="0640",
        **variables,
    )


def running(name: str, service: str, changes: list) -> None:
    """``service`` restarted if any of ``changes`` changed, and enabled and running."""
    systemd.service(name=f"Restart {name} for its new configuration", service=service, restarted=True, _if=any_changed(*changes))
    systemd.service(name=f"{name} enabled and running", service=service, running=True, enabled=True)
