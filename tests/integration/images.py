"""Images through the dashboard, as its Images panel handles them: listed, created and deleted
through Horizon's REST API, the file posted as the panel's form posts it in the legacy upload
mode (multipart, streamed from disk)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import requests
from requests_toolbelt import MultipartEncoder

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
