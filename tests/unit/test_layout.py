"""The host's paths, users and ports are named once, in operations/layout.py: templates take them
from ``layout`` and never name one themselves."""

import re

import pytest

from operations import TEMPLATES, optional_file
from operations.layout import MEMCACHED_PORT

# An absolute path under the system's top directories.
HOST_PATH = re.compile(r"(?<![\w.$/~-])/(etc|var|run|usr|opt|srv|bin|sbin|lib|dev|tmp|home|root|proc|sys)\b")
# A setting whose value is a user or a group: systemd's, uWSGI's, memcached's.
USER_SETTING = re.compile(r"^\s*(User=|Group=|SupplementaryGroups=|RuntimeDirectory=|chown-socket\s*=|uid\s*=|gid\s*=|-u\s)")


def configuration_lines(template: str) -> list[tuple[int, str]]:
    """The lines a template writes as configuration or code: comments and Jinja's own syntax
    dropped, what ``{{ ... }}`` inserts left out."""
    lines = []
    for number, line in enumerate((TEMPLATES / template).read_text().splitlines(), 1):
        if line.lstrip().startswith(("#", "{#", "{%")):
            continue
        lines.append((number, re.sub(r"\{\{.*?\}\}", "{}", line)))
    return lines


TEMPLATE_NAMES = sorted(path.name for path in TEMPLATES.glob("*.j2"))


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_no_template_names_a_host_path_a_user_or_a_port_itself(template):
    named = [
        f"{template}:{number}: {line.strip()}"
        for number, line in configuration_lines(template)
        if HOST_PATH.search(line)
        or (USER_SETTING.match(line) and not line.rstrip().endswith("{}"))
        or re.search(rf"\b{MEMCACHED_PORT}\b", line)
    ]
    assert not named, "take these from layout (operations/layout.py):\n" + "\n".join(named)



def test_an_optional_file_outside_the_layouts_list_is_refused_before_anything_runs():
    # The host is only asked about the files in layout.OPTIONAL_FILES: any other would never be
    # seen there, and so never removed when its key is unset.
    with pytest.raises(ValueError, match="/etc/openstack-dashboard/other.pem is not in layout.OPTIONAL_FILES"):
        optional_file("Another CA", None, "/etc/openstack-dashboard/other.pem")
