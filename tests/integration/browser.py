"""Debian's Chromium, headless, driven through Selenium: the dashboard as a person's browser
handles it, scripts, forms and file choosers included."""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.dashboard import LOGIN, LOGIN_PAGE, PROJECTS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def chromium(hosts: dict[str, str], profile: str | None = None, trusted_key: str | None = None):
    """A headless Chromium with a profile of its own (or the directory ``profile``, kept with its
    cache), resolving each of ``hosts`` (name: address) as the lab's containers do: the
    catalog's endpoints name the Keystone container. ``trusted_key``: the base64 SHA-256 of a
    certificate's public key that Chromium trusts as a user's own CA would be, so that, unlike
    a warning clicked through, what the site sends goes into the disk cache."""
    options = webdriver.ChromeOptions()
    # Debian's own build and its matching driver: nothing may download a browser here.
    options.binary_location = "/usr/bin/chromium"
    # The lab's certificates are self-signed, so a person would click through the warning once.
    options.accept_insecure_certs = True
    with nullcontext(profile) if profile else tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,900", f"--user-data-dir={profile}", "--no-first-run",
            # No calls home: this machine's network refuses them, many at a time.
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
            "--host-resolver-rules=" + ", ".join(f"MAP {name} {address}" for name, address in hosts.items()),
            *([f"--ignore-certificate-errors-spki-list={trusted_key}"] if trusted_key else []),
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def log_in(driver, url: str, username: str, password: str) -> None:
    """A fresh session: the login form at ``url`` filled in and sent, and the page an admin lands
    on loaded (a screenshot under test-artifacts/ when it does not come)."""
    driver.delete_all_cookies()
    driver.get(url + LOGIN)
    WebDriverWait(driver, 30).until(expected_conditions.title_is(LOGIN_PAGE))
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "loginBtn").click()
    try:
        WebDriverWait(driver, 60).until(expected_conditions.title_is(PROJECTS))
    except TimeoutException:
        shot = screenshot(driver, f"login-failed-{urlsplit(url).port}")
        raise AssertionError(f"after logging in: {driver.title!r} at {driver.current_url} (see {shot})") from None


def screenshot(driver, name: str) -> Path:
    """The window as it is, under test-artifacts/, for the person reading a report."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9]+', '-', name)}.png"
    driver.save_screenshot(str(path))
    return path
