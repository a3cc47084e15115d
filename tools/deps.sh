#!/usr/bin/env bash
# Installs the Debian packages sluice builds and tests with, if any is missing.
# Sourced by tools/run and tools/test; safe to run again (it installs nothing
# when everything is there).
set -euo pipefail

sluice_packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev zlib1g-dev librdkafka-dev kcat libconcurrentqueue-dev libxxhash-dev libmimalloc-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  netcat-openbsd procps prometheus
  clang libclang-rt-14-dev
)

sluice_install_deps() {
  local missing=()
  for p in "${sluice_packages[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "tools: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
