#!/bin/sh
# Gets what the Go SDK needs to build and test: a Go toolchain (Debian's golang-go only when
# no go is on PATH), libzmq's headers for cgo, flatc for the generated-code test, and the
# module's dependencies. Idempotent.
set -eu
cd "$(dirname "$0")"
missing=""
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || missing="$missing golang-go"
[ -f /usr/include/zmq.h ] || missing="$missing libzmq3-dev"
command -v flatc >/dev/null 2>&1 || missing="$missing flatbuffers-compiler"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if [ -n "$missing" ]; then
  apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
go mod download
