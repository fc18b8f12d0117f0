#!/usr/bin/env bash
# `make image`: the base (debootstrap, deploy/images/base.sh), the project image from deploy/Dockerfile and
# the infrastructure images of `make prod-up` (nginx, PgBouncer, Redis, PostgreSQL/PostGIS from Debian's
# packages, deploy/images/*.Containerfile), all with `buildah bud --isolation chroot` into local storage.
#   deploy/images/build.sh [rezone|infra|all]        (default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="$PWD/deploy/podman/containers.conf" CONTAINERS_STORAGE_CONF="$PWD/deploy/podman/storage.conf"
what="${1:-all}"
base="${BASE_IMAGE:-rezone-cpts/debian-base:bookworm}"
for tool in podman buildah debootstrap catatonit; do
  command -v "$tool" >/dev/null || {
    echo "image: installing podman buildah debootstrap runc catatonit (Debian)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman buildah debootstrap runc catatonit >/dev/null
    break
  }
done
if [ "$base" = rezone-cpts/debian-base:bookworm ] || [ "$what" != rezone ]; then
  deploy/images/base.sh rezone-cpts/debian-base:bookworm
fi
bud() {  # bud <tag> <containerfile> [context]
  local started=$SECONDS
  buildah bud --isolation chroot --network host --format docker --layers --quiet --build-arg "BASE_IMAGE=$base" \
    -f "$2" -t "$1" "${3:-.}" >/dev/null
  echo "image: $1 built in $((SECONDS - started)) s ($(podman image inspect --format '{{.Size}}' "$1") bytes)"
}
# The machine's CA bundle (it trusts the TLS-inspecting proxy in front of PyPI and npm), as a build secret.
ca_secret=()
ca="${REZONE_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
[ -s "$ca" ] && ca_secret=(--secret "id=build_ca,src=$ca")
if [ "$what" = all ] || [ "$what" = rezone ]; then
  # buildah reads <Containerfile>.dockerignore only for Containerfile/Dockerfile in the context root, so the
  # exclusions are passed explicitly (the same file BuildKit reads).
  started=$SECONDS
  buildah bud --isolation chroot --network host --format docker --layers --quiet --build-arg "BASE_IMAGE=$base" \
    --ignorefile deploy/Dockerfile.dockerignore "${ca_secret[@]}" -f deploy/Dockerfile -t rezone-cpts/rezone:dev . >/dev/null
  echo "image: rezone-cpts/rezone:dev built in $((SECONDS - started)) s" \
       "($(podman image inspect --format '{{.Size}}' rezone-cpts/rezone:dev) bytes)"
fi
if [ "$what" = all ] || [ "$what" = infra ]; then
  # Always from the debootstrap bases (they exist only for our machines); PgBouncer from trixie's base.
  deploy/images/base.sh rezone-cpts/debian-base:trixie trixie
  for name in nginx redis postgis; do
    base=rezone-cpts/debian-base:bookworm bud "rezone-cpts/$name:dev" "deploy/images/$name.Containerfile" deploy/images
  done
  base=rezone-cpts/debian-base:trixie bud rezone-cpts/pgbouncer:dev deploy/images/pgbouncer.Containerfile deploy/images
fi
