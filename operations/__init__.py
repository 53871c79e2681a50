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
