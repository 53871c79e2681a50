"""A person using the dashboard, as far as HTTP goes, and what they see on its pages; and what
an operator changes: a theme given, a unit edited by hand."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from urllib.parse import urljoin

import requests

LOGIN = "auth/login/"
LOGOUT = "auth/logout/"
# The titles of the pages the tests land on.
LOGIN_PAGE = "Login - OpenStack Dashboard"
PROJECTS = "Projects - OpenStack Dashboard"


class DashboardUser:
    """Cookies, the login form's hidden fields and a Referer: what a browser's form post sends."""

    def __init__(self, url: str, certificate: str):
        self.url = url
        self.http = requests.Session()
        # The dashboard's certificate is the one to trust (self-signed, or the test's own), given
        # with every request: a Session's own setting loses to REQUESTS_CA_BUNDLE in the environment.
        self.certificate = certificate

    def get(self, path: str, **kwargs) -> requests.Response:
        """``path`` relative to the dashboard, or a whole URL (another node of the same dashboard)."""
        return self.http.get(urljoin(self.url, path), timeout=60, verify=self.certificate, **kwargs)

    def login(self, username: str, password: str, follow: bool = True, **choices: str) -> requests.Response:
        """Log in through the form; ``choices`` for its other fields (``region``, ``domain``,
        ``auth_type``); with ``follow`` false, the form's own answer, not where it redirects to."""
        form_page = self.get(LOGIN)
        form_page.raise_for_status()
        fields = hidden_fields(form_page.text)
        fields.update(username=username, password=password, **choices)
        return self.http.post(
            urljoin(self.url, LOGIN),
            data=fields,
            headers={"Referer": form_page.url},
            timeout=60,
            verify=self.certificate,
            allow_redirects=follow,
        )

    def api(self, method: str, path: str, timeout: float = 60, headers: dict | None = None, **kwargs) -> requests.Response:
        """A call to Horizon's REST API (``path`` under ``api/``), as its Angular panels make one:
        flagged as AJAX, with the CSRF cookie's token and a Referer."""
        headers = {
            "X-Requested-With": "XMLHttpRequest",
            "X-CSRFToken": self.http.cookies.get("csrftoken", ""),
            "Referer": self.url,
            **(headers or {}),
        }
        return self.http.request(method, urljoin(self.url, path), headers=headers, timeout=timeout, verify=self.certificate, **kwargs)

    def logout(self) -> requests.Response:
        return self.get(LOGOUT)


def hidden_fields(page: str) -> dict[str, str]:
    """The login form's hidden inputs: the CSRF token, the region and Horizon's decoy fields."""
    form = page[page.index("<form") : page.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def select_options(page: str, name: str) -> dict[str, str]:
    """A form's drop-down ``name``: each option's value and label."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    options = re.findall(r'<option value="([^"]*)"[^>]*>\s*(.*?)\s*</option>', select.group(1), re.S) if select else []
    return dict(options)


def current_region(page: str) -> str:
    """The region the header says the user is in (shown when there are several)."""
    match = re.search(r'<span class="region-title">\s*(.*?)\s*</span>', page)
    return match.group(1) if match else ""


def static_asset(login_page: str) -> str:
    """The first stylesheet the login page links to."""
    return re.search(r'href="([^"]+\.css)"', login_page).group(1)


def stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)


def image_source(page: str, asset: str) -> str:
    """Where the page takes an image of its theme from: the logos (``img``), the icon (``link``)."""
    return re.search(rf'(?:src|href)="?([^" >]*/{re.escape(asset)})', page).group(1)


def theme_choices(page: str) -> list[str]:
    """The themes the user menu offers."""
    return re.findall(r'<a data-theme="([^"]+)"', page)


def title(page: str) -> str:
    match = re.search(r"<title>\s*(.*?)\s*</title>", page, re.S)
    return match.group(1) if match else ""


def error_messages(page: str) -> list[str]:
    """Horizon's error alerts, on forms and in its messages (not the "requires JavaScript" notice)."""
    alerts = re.findall(r'<div class="alert alert-danger(?: alert-dismissable[^"]*)?">(.*?)</div>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", alert).split()) for alert in alerts]


def project_panel_groups(page: str) -> set[str]:
    """The groups of the Project dashboard's navigation: compute, volumes, network, object_store..."""
    return set(re.findall(r'id="sidebar-accordion-project-([a-z_]+)"', page))


def listed_projects(page: str) -> list[str]:
    """The project names in Identity → Projects' table."""
    return re.findall(r'data-display="([^"]+)"[^>]*id="tenants__row__', page)


# horizon.service edited by hand, which the next run writes back and restarts Horizon for.
HAND_EDITED_UNIT = "sed -i 's/^RestartSec=2$/RestartSec=5/' /etc/systemd/system/horizon.service && systemctl daemon-reload"

# The installed openstack-dashboard's version.
DASHBOARD_VERSION = "dpkg-query -W -f '${Version}' openstack-dashboard"


def dashboard_package_upgraded_to(version: str) -> str:
    """The command that upgrades the host's own openstack-dashboard, as apt fetched it, to itself
    under ``version``: dpkg upgrades it for real (its maintainer scripts run, its file list is
    rewritten), as `apt upgrade` would."""
    return (
        "set -e; rm -rf /tmp/upgrade && mkdir /tmp/upgrade && cd /tmp/upgrade && "
        "apt-get download -q openstack-dashboard >/dev/null && dpkg-deb -R openstack-dashboard_*.deb package && "
        f"sed -i 's/^Version: .*/Version: {version}/' package/DEBIAN/control && dpkg-deb -b package newer.deb >/dev/null && "
        "DEBIAN_FRONTEND=noninteractive dpkg -i newer.deb >/dev/null"
    )


# A rule only the tests' theme has, in the stylesheet Horizon compiles from it.
THEME_MARKER = ".acme-test-marker"


def theme_archive(directory: Path, colour: str = "#123456") -> str:
    """A theme as operators get one: a tarball with one top-level directory, built on Horizon's
    default; ``colour`` is its marker rule's, so that two versions compile to different files."""
    static = directory / "acme" / "static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "_variables.scss").write_text('@import "/themes/default/variables";\n')
    (static / "_styles.scss").write_text(f'@import "/themes/default/styles";\n{THEME_MARKER} {{ color: {colour}; }}\n')
    archive = directory / f"acme-{colour.lstrip('#')}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(directory / "acme", arcname="acme")
    return str(archive)


def theme_made_default(directory: Path, colour: str = "#123456") -> list[str]:
    """The deploy's data that installs ``theme_archive(directory, colour)`` as the theme "acme"
    and makes it the default."""
    themes = json.dumps({"acme": {"label": "ACME", "source": theme_archive(directory, colour)}})
    return [f"horizon_themes={themes}", "horizon_default_theme=acme"]
