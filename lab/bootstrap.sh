#!/usr/bin/env bash
# Make this machine able to run the lab and the tests: a Docker engine, debootstrap, Chromium, ShellCheck, memcached and a
# virtualenv with requirements.txt. Safe to run again; it only does what is missing.
# Meant for a Debian host where we are root (as the CI and development machines are).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The repository test builds and signs a small apt repository.
command -v apt-ftparchive >/dev/null || need+=(apt-utils)
command -v gpg >/dev/null || need+=(gnupg)
# The fleet test brings its own certificate.
command -v openssl >/dev/null || need+=(openssl)
# The lab's hosts are also reached over SSH, with a key made here.
command -v ssh-keygen >/dev/null || need+=(openssh-client)
# The unit tests check every shell command a run sends with ShellCheck.
command -v shellcheck >/dev/null || need+=(shellcheck)
# The unit tests refill real memcached servers.
command -v memcached >/dev/null || need+=(memcached)
# The browser tests drive Debian's Chromium through its matching chromedriver.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd" >&2
    if ! { command -v systemctl >/dev/null && systemctl start docker 2>/dev/null; }; then
        nohup dockerd >/var/log/horizon-lab-dockerd.log 2>&1 &
    fi
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/horizon-lab-dockerd.log" >&2; exit 1; }
fi

if [ ! -x "$root/.venv/bin/pyinfra" ] || ! cmp -s "$root/requirements.txt" "$root/.venv/requirements.txt"; then
    echo "installing requirements.txt into .venv" >&2
    python3 -m venv "$root/.venv"
    "$root/.venv/bin/pip" install -q -r "$root/requirements.txt"
    cp "$root/requirements.txt" "$root/.venv/requirements.txt"
fi
