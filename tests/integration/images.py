"""Images through the dashboard, as its Images panel handles them: listed, created and deleted
through Horizon's REST API, the file posted as the panel's form posts it in the legacy upload
mode (multipart, streamed from disk); or the panel's Create Image form filled in by a real browser."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import requests
from requests_toolbelt import MultipartEncoder
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from benchmarks.upload_client import form_fields
from tests.integration.dashboard import DashboardUser

IMAGES = "api/glance/images/"
IMAGES_PANEL = "project/images/"


def image_file(path: Path, mib: int) -> str:
    """A file of ``mib`` MiB of random bytes (compressed by nothing on the way); its MD5, which
    Glance reports as the image's checksum."""
    digest = hashlib.md5()
    with path.open("wb") as file:
        for _ in range(mib):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def upload(user: DashboardUser, name: str, path: Path, timeout: float = 600) -> requests.Response:
    """Post ``path`` as an image named ``name``, as the panel's Create Image form does in the legacy
    mode: the form's fields and the file in one multipart body, read from disk as it goes."""
    with path.open("rb") as file:
        body = MultipartEncoder(fields={**form_fields(name), "data": (path.name, file, "application/octet-stream")})
        return user.api("post", IMAGES, data=body, headers={"Content-Type": body.content_type}, timeout=timeout)


def create_in_panel(driver, url: str, name: str, path: Path, within: float = 600) -> str:
    """Create an image named ``name`` from the file at ``path`` as a person does, in the browser
    ``driver`` (logged in to the dashboard at ``url``): the panel's Create Image form, the file
    chosen, format Raw. The message the panel shows once the form closes."""
    driver.get(url + IMAGES_PANEL)
    create = (By.XPATH, "//button[contains(., 'Create Image')]")
    WebDriverWait(driver, 60).until(expected_conditions.element_to_be_clickable(create)).click()
    WebDriverWait(driver, 30).until(expected_conditions.visibility_of_element_located((By.ID, "imageForm-name"))).send_keys(name)
    # The form's Browse... button opens a chooser through a file input of its own: a person's
    # choice lands there, once the form's source step has drawn it (after the name field, at
    # times: seen on Debian 12 once its files came over HTTP/2).
    chooser = (By.CSS_SELECTOR, "input[type=file]")
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located(chooser)).send_keys(str(path))
    Select(driver.find_element(By.ID, "imageForm-format")).select_by_visible_text("Raw")
    finish = (By.CSS_SELECTOR, ".modal .btn.finish")
    WebDriverWait(driver, 10).until(expected_conditions.element_to_be_clickable(finish)).click()
    # In the direct mode the form stays until the browser has sent the file to Glance.
    WebDriverWait(driver, within).until(expected_conditions.invisibility_of_element_located((By.CSS_SELECTOR, ".modal")))
    return WebDriverWait(driver, 30).until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".alert"))).text


def image(user: DashboardUser, image_id: str) -> dict:
    response = user.api("get", f"{IMAGES}{image_id}/")
    response.raise_for_status()
    return response.json()


def listed(user: DashboardUser) -> dict[str, dict]:
    """The images the panel lists, by name."""
    response = user.api("get", IMAGES)
    response.raise_for_status()
    return {item["name"]: item for item in response.json()["items"]}


def delete(user: DashboardUser, image_id: str) -> requests.Response:
    return user.api("delete", f"{IMAGES}{image_id}/")


def wait_until_settled(user: DashboardUser, image_id: str, within: float = 600) -> dict:
    """The image once Glance has all of it (``active``) or gave up on it; as it was last otherwise."""
    deadline = time.monotonic() + within
    while True:
        found = image(user, image_id)
        if found["status"] not in ("queued", "saving", "importing", "uploading") or time.monotonic() > deadline:
            return found
        time.sleep(1)
