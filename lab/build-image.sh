#!/usr/bin/env bash
# Build a systemd-booting Debian base image for the lab and the tests, once.
#
# No container registry is reachable from these machines, so images come from
# debootstrap + `docker import`. The image is a plain "fresh host": systemd as
# init, CA certificates (including this machine's extra ones, because HTTPS
# from containers goes through an inspecting proxy), python3, an SSH server and
# sudo, as a Debian cloud image has. Everything Horizon needs is installed by the
# deploy itself. The tag names this script's content (see lab/targets.py), so a
# change here builds a new image instead of reusing the old one.
#
# usage: lab/build-image.sh SUITE TAG     e.g. lab/build-image.sh bookworm horizon-lab/debian:12
set -euo pipefail
suite=$1 tag=$2
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The test suite's workers may ask for the same image at once: one builds, the other waits.
exec 9>"/tmp/horizon-lab-image-${suite}.lock"
flock 9
if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi

root=$(mktemp -d /var/tmp/horizon-lab-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

echo "building $tag from $suite (debootstrap, about a minute)" >&2
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,ca-certificates,python3,iproute2,procps,openssh-server,sudo \
    "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# A real host also follows the point-release updates and the security archive.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
SOURCES

# Trust the same extra CAs as this machine (the egress proxy re-signs HTTPS).
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$root" update-ca-certificates >/dev/null 2>&1

# Units that make no sense in a container and only slow the boot down.
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
            systemd-networkd-wait-online.service getty.target console-getty.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
echo "horizon-lab" >"$root/etc/hostname"
: >"$root/etc/machine-id"
chroot "$root" apt-get clean

tar -C "$root" -c . | docker import \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=docker' \
    - "$tag" >/dev/null
echo "built $tag" >&2
