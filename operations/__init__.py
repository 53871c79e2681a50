"""pyinfra deploys that serve the OpenStack dashboard (Horizon) with NGINX in front of uWSGI.

One ``@deploy`` per concern; ``deploy.py`` composes them in order. Each takes the checked
``HorizonConfig`` from ``operations.config`` rather than reading host data itself, so that bad
input is refused once, before anything is planned.
"""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def template(name: str) -> str:
    """Absolute path of a template, so deploys work from any working directory."""
    return str(TEMPLATES / name)


def public_file(name: str, src: str, dest: str):
    """``files.put`` of a local file that holds no secret: root's, readable by all (0644)."""
    from pyinfra.operations import files

    return files.put(name=name, src=src, dest=dest, user="root", group="root", mode="0644")


def public_config(name: str, source: str, dest: str, **variables):
    """``files.template`` for configuration that holds no secret: root's, readable by all (0644).

    Owner and mode are always explicit: through some connectors an upload without them lands
    0600 root, which the services reading the file as another user cannot open.
    """
    from pyinfra.operations import files

    return files.template(name=name, src=template(source), dest=dest, user="root", group="root", mode="0644", **variables)
