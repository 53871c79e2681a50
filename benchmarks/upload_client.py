"""One image upload through a dashboard, as the Images panel's form posts it in the legacy mode,
run inside the lab container by ``benchmarks/uploads.py`` (the standard library only):

    python3 upload_client.py PORT COOKIE FILE NAME

Prints JSON: the answer's status, the seconds until it came, and with 201 the seconds until
Glance had all of the image (``active``, polled through the same dashboard), its status and
checksum, and its ID.
"""

import http.client
import json
import os
import ssl
import sys
import time

BOUNDARY = "horizon-upload-benchmark"


def part(name: str, value: str) -> str:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'


def request(port: int, method: str, path: str, headers: dict, body=None) -> http.client.HTTPResponse:
    # The dashboard's self-signed certificate, on this host's loopback.
    connection = http.client.HTTPSConnection("localhost", port, context=ssl._create_unverified_context(), timeout=900)
    connection.putrequest(method, path)
    for header, value in headers.items():
        connection.putheader(header, value)
    connection.endheaders()
    for chunk in body or ():
        connection.send(chunk)
    return connection.getresponse()


def file_body(path: str, head: bytes, tail: bytes):
    yield head
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            yield chunk
    yield tail


def form_fields(name: str) -> dict[str, str]:
    """The Create Image form's fields besides the file, as the panel posts them: each as text,
    and all in ``$$originalJSON`` with their types, which Horizon reads instead."""
    fields = {"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "private", "protected": False}
    as_text = {key: json.dumps(value) if isinstance(value, bool) else value for key, value in fields.items()}
    return {**as_text, "$$originalJSON": json.dumps(fields)}


def main(port: int, cookie: str, path: str, name: str) -> dict:
    head = "".join(part(key, value) for key, value in form_fields(name).items())
    head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"; filename="image.raw"\r\n'
    head += "Content-Type: application/octet-stream\r\n\r\n"
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head.encode()) + os.path.getsize(path) + len(tail)
    # Django checks a POST's CSRF token and, over HTTPS, its Referer, as for the panel's own.
    csrf_token = dict(pair.split("=", 1) for pair in cookie.split("; "))["csrftoken"]
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
        "Cookie": cookie,
        "X-CSRFToken": csrf_token,
        "Referer": "https://localhost/" if port == 443 else f"https://localhost:{port}/",
    }
    started = time.monotonic()
    response = request(port, "POST", "/api/glance/images/", headers, file_body(path, head.encode(), tail))
    answer = response.read()
    result = {"status": response.status, "answered": time.monotonic() - started}
    if response.status != 201:
        return result
    image_id = json.loads(answer)["id"]
    while True:
        polled = request(port, "GET", f"/api/glance/images/{image_id}/", {"Cookie": cookie, "X-Requested-With": "XMLHttpRequest"})
        image = json.loads(polled.read())
        if image["status"] not in ("queued", "saving"):
            break
        time.sleep(0.2)
    return {**result, "settled": time.monotonic() - started, "image_status": image["status"], "checksum": image["checksum"], "id": image_id}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])))
