#!/usr/bin/env bash
# Builds the container image (Dockerfile) with podman and tests it.
#   scripts/container.sh build   the Debian base image when missing, then adashta-queue
#   scripts/container.sh test    build, then tests/container/container.test.mjs against it
#   scripts/container.sh base    only the base image
#
# The image's Node.js (for JavaScript plugins) is the host's, imported as an image (node_stage()).
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
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
  say "making the base image $base_image from Debian's packages (mmdebstrap, minbase)"
  mmdebstrap --quiet --variant=minbase bookworm "$tmp/base.tar"
  podman import --quiet "$tmp/base.tar" "$base_image" >/dev/null
}

# The Dockerfile's NODE image: the host's own Node.js binary (20 or later, which
# scripts/setup.sh installs) at /usr/local/bin/node, imported like the base image, one image
# per version. npm inside the build cannot fetch it: it does not trust the TLS certificate
# of this network's way to the npm registry (SELF_SIGNED_CERT_IN_CHAIN).
node_image=""
node_stage() {
  local bin version major tmp
  bin="$(command -v node || true)"
  version="$("$bin" --version 2>/dev/null || true)"
  major="${version#v}"
  major="${major%%.*}"
  if [[ -z $bin || ! $major =~ ^[0-9]+$ ]] || ((major < 20)); then
    echo "container: the image takes the host's Node.js, which must be 20 or later (found: ${version:-none}); run scripts/setup.sh" >&2
    exit 1
  fi
  node_image="localhost/adashta-node:$version"
  if podman image exists "$node_image"; then
    say "node image $node_image present"
    return
  fi
  tmp="$(mktemp -d)"
  say "making the node image $node_image from $(readlink -f "$bin")"
  mkdir -p "$tmp/root/usr/local/bin"
  cp "$(readlink -f "$bin")" "$tmp/root/usr/local/bin/node"
  tar -C "$tmp/root" -cf "$tmp/node.tar" .
  podman import --quiet "$tmp/node.tar" "$node_image" >/dev/null
  rm -rf "$tmp"
}

# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it).
build() {
  base
  node_stage
  say "building $image (Release)"
  local start=$SECONDS
  local flags=(--network=host --format docker --build-arg "BASE=$base_image" --build-arg "NODE=$node_image"
               --file "$here/Dockerfile")
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
