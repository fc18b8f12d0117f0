#!/usr/bin/env bash
# Builds the base image from Debian with debootstrap and imports it into local container storage:
#   deploy/images/base.sh [tag [suite]]     (default rezone-cpts/debian-base:bookworm bookworm)
# Python 3.11 and the runtime packages come from Debian bookworm through the apt mirror this machine already
# uses (read from /etc/apt/sources.list*), so that no image registry is needed. The PgBouncer image alone uses
# a trixie base (rezone-cpts/debian-base:trixie): bookworm's PgBouncer 1.18 cannot track asyncpg's prepared
# statements in transaction mode, trixie's 1.24 can (max_prepared_statements, like the production Pooler).
# Idempotent: an existing tag is kept unless REZONE_REBUILD_BASE=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-rezone-cpts/debian-base:bookworm}"
suite="${2:-bookworm}"
export CONTAINERS_CONF="$PWD/deploy/podman/containers.conf" CONTAINERS_STORAGE_CONF="$PWD/deploy/podman/storage.conf"
if [ "${REZONE_REBUILD_BASE:-0}" != 1 ] && podman image exists "$tag"; then
  echo "base: $tag already in local storage"; exit 0
fi
# The first Debian (not -security) URI of the machine's apt sources, deb822 or one-line format.
mirror="$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
# python3-venv brings ensurepip (the image's virtual environment); ca-certificates for pip and apt over
# HTTPS in the build stage; tzdata for logs in local time if an operator sets TZ; nothing else.
packages=python3,python3-venv,ca-certificates,tzdata
[ "$suite" = bookworm ] || packages=ca-certificates,tzdata
rootfs="$(mktemp -d /var/tmp/rezone-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "base: debootstrap $suite from $mirror"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# The same sources as the host for later apt-get in derived images, security updates included.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian*}/debian-security $suite-security main
SOURCES
# Smaller and reproducible: no apt lists, caches, docs or man pages in the layer.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/log/*.log
tar -C "$rootfs" --numeric-owner -c . | podman import \
  --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' --message "debootstrap $suite minbase + $packages" \
  - "$tag" >/dev/null
echo "base: imported $tag ($(podman image inspect --format '{{.Size}}' "$tag") bytes)"
