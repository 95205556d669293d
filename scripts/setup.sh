#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine: installs the missing packages (apt-get), configures and
# builds rwkv-vision. Idempotent: a second run only rebuilds what changed.
#   bash scripts/setup.sh                # Release build in build/
#   bash scripts/setup.sh --sanitize     # Debug + ASan/UBSan build in build-asan/
#   bash scripts/setup.sh --tools        # also the Python packages of tools/ (torch, datasets)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
lists=(scripts/packages.txt)
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir=build-asan; cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DRV_SANITIZE=ON -DRV_BUILD_BENCHMARKS=OFF) ;;
    --tools) lists+=(scripts/packages-tools.txt) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

wanted=$(grep -hvE '^\s*(#|$)' "${lists[@]}" | tr '\n' ' ')
missing=()
for p in $wanted; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs"
echo "setup: built $build_dir/apps/rwkv-vision" >&2
