"""A real browser (Debian's Chromium, headless) logs in to the freshly deployed dashboard."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from lab.identity import ADMIN

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    # Debian's own build and its matching driver: nothing may download a browser here.
    options.binary_location = "/usr/bin/chromium"
    # The lab's certificate is self-signed, so a person would click through the warning once.
    options.accept_insecure_certs = True
    with tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,900", f"--user-data-dir={profile}", "--no-first-run",
            # No calls home: this machine's network refuses them, many at a time.
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        driver.set_page_load_timeout(60)
        yield driver
        driver.quit()


def test_admin_logs_in_with_a_browser_and_sees_the_admin_project(browser, fresh, ready_keystone, image):
    target = fresh[0]
    browser.delete_all_cookies()
    browser.get(target.url)
    WebDriverWait(browser, 30).until(expected_conditions.title_is("Login - OpenStack Dashboard"))
    browser.find_element(By.ID, "id_username").send_keys(ADMIN)
    browser.find_element(By.ID, "id_password").send_keys(ready_keystone.admin_password)
    browser.find_element(By.ID, "loginBtn").click()
    try:
        WebDriverWait(browser, 60).until(expected_conditions.title_is("Projects - OpenStack Dashboard"))
    except TimeoutException:
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"login-failed-{re.sub(r'[^a-z0-9]+', '-', image)}.png"))
        raise AssertionError(f"after logging in: {browser.title!r} at {browser.current_url}") from None
    projects = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#tenants tbody td:nth-child(2)")]
    assert ADMIN in projects
    assert browser.find_element(By.CSS_SELECTOR, ".user-menu .user-name").text == ADMIN
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"logged-in-{re.sub(r'[^a-z0-9]+', '-', image)}.png"))
