#!/usr/bin/env bash
# Builds the container image (Dockerfile) with podman and tests it.
#   scripts/container.sh build   the Debian base image when missing, then adashta-queue
#   scripts/container.sh test    build, then tests/container/container.test.mjs against it
#   scripts/container.sh base    only the base image
#
# No image registry is reachable here, so the base image is made from Debian's packages
# (mmdebstrap, minbase) and imported; it is made again only when it is missing. Builds and
# containers use the host's network (--network=host): the default bridge hands out addresses
# that tests must never send to. The test exits 77 (ctest: skipped) only when no container
# engine can be installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${ADASHTA_IMAGE:-adashta-queue}"
base_image="${ADASHTA_BASE_IMAGE:-localhost/adashta-base:bookworm}"

say() { echo "container: $*"; }

# Installs podman, mmdebstrap and runc and writes containers.conf (scripts/setup.sh).
engine() {
  if ! "$here/scripts/setup.sh" --container || ! command -v podman >/dev/null; then
    return 1
  fi
}

base() {
  if podman image exists "$base_image"; then
    say "base image $base_image present"
    return
  fi
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  say "making the base image $base_image from Debian's packages (mmdebstrap, minbase)"
  mmdebstrap --quiet --variant=minbase bookworm "$tmp/base.tar"
  podman import --quiet "$tmp/base.tar" "$base_image" >/dev/null
}

# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it).
build() {
  base
  say "building $image (Release)"
  local start=$SECONDS
  local flags=(--network=host --format docker --build-arg "BASE=$base_image" --file "$here/Dockerfile")
  # The build stage gets a name too, so the layers the next build reuses are never dangling;
  # what is dangling afterwards is an older build, and goes.
  podman build "${flags[@]}" --target build --tag "$image-build" "$here"
  podman build "${flags[@]}" --tag "$image" "$here"
  podman image prune --force >/dev/null
  say "built $image in $((SECONDS - start)) s"
}

case "${1:-}" in
  base)
    engine || { echo "container: no container engine (podman) could be installed" >&2; exit 1; }
    base
    ;;
  build)
    engine || { echo "container: no container engine (podman) could be installed" >&2; exit 1; }
    build
    ;;
  test)
    if ! engine; then
      echo "SKIP: no container engine: podman could not be installed (scripts/setup.sh --container)"
      exit 77
    fi
    build
    say "testing $image"
    cd "$here/tests"
    ADASHTA_IMAGE="$image" exec node --test --test-reporter=spec container/container.test.mjs
    ;;
  *)
    echo "usage: scripts/container.sh build|test|base" >&2
    exit 2
    ;;
esac
