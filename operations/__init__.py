"""pyinfra deploys that serve the OpenStack dashboard (Horizon) with NGINX in front of uWSGI.

One ``@deploy`` per concern; ``deploy.py`` composes them in order. Each takes the checked
``HorizonConfig`` from ``operations.settings`` rather than reading host data itself, so that bad
input is refused once, before anything is planned.
"""

from collections.abc import Callable, Iterable
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pyinfra import host
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from .facts import probe, probed
from .layout import LAYOUT, OPTIONAL_FILES
from .whole import whole_file

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# Block tags take no line of their own in the output: the files read as if written by hand.
ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


# Every template knows the host's paths, users and ports as ``layout``.
ENVIRONMENT.globals["layout"] = LAYOUT


def with_port(address: str, port: int) -> str:
    """``address:port``, an IPv6 address in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


ENVIRONMENT.filters["with_port"] = with_port


def render(name: str, **variables) -> str:
    """A template of ``templates/`` rendered; an undefined variable is an error."""
    return ENVIRONMENT.get_template(name).render(**variables)


def config_file(name: str, source: str, dest: str, user: str = "root", group: str = "root", mode: str = "0644", **variables):
    """A template rendered into ``dest``, written whole (see ``whole.whole_file``); by default
    configuration that holds no secret: root's, readable by all.

    Owner and mode are always explicit: through some connectors an upload without them lands
    0600 root, which the services reading the file as another user cannot open.
    """
    return whole_file(name=name, path=dest, content=render(source, **variables), user=user, group=group, mode=mode)


def public_file(name: str, src: str, dest: str):
    """A local file that holds no secret copied to ``dest``, written whole: root's, readable by all."""
    return whole_file(name=name, path=dest, content=Path(src).read_bytes(), user="root", group="root", mode="0644")


probe("optional", lambda: f"ls -d {' '.join(OPTIONAL_FILES)}")


def optional_file(name: str, local: str | None, dest: str) -> list:
    """The operator's local file (see ``public_file``) at ``dest``, one of ``layout.OPTIONAL_FILES``
    (whether each exists is asked together), or ``dest`` removed without one."""
    if dest not in OPTIONAL_FILES:
        raise ValueError(f"{dest} is not in layout.OPTIONAL_FILES: the deploy would never see it to remove it")
    if local:
        return [public_file(name, local, dest)]
    present = [dest] if dest in probed("optional") else []
    return remove_all_but(f"{name}: none", (), present, lambda dropped: [files.file(name=f"{name}: none", path=dest, present=False)])


def remove_all_but(what: str, wanted: Iterable[str], present: Iterable[str], remove: Callable[[list[str]], list]) -> list:
    """Reconcile: what is ``present`` on the host and not ``wanted`` goes, by the operations
    ``remove`` makes for those paths (sorted); a noop saying so when nothing has to."""
    dropped = sorted(set(present) - set(wanted))
    if not dropped:
        host.noop(f"{what}: nothing on the host to remove")
        return []
    return remove(dropped)


def retire(service: str, unit: str, present: Iterable[str], why: str) -> None:
    """A systemd service the host no longer runs: stopped and disabled while its ``unit`` is on
    the host, then its files (those ``present`` on the host) removed, and systemd reloaded when
    any went."""
    if unit in present:
        systemd.service(name=f"{service} stopped: {why}", service=service, running=False, enabled=False)
    removed = remove_all_but(
        f"{service}: {why}",
        (),
        present,
        lambda dropped: [files.file(name=f"{path}: {why}", path=path, present=False) for path in dropped],
    )
    if removed:
        systemd.daemon_reload(name=f"Reload systemd without {service}", _if=any_changed(*removed))
