#!/usr/bin/env bash
# Fails if any C++ file of ours differs from .clang-format (Google base, 4 spaces, 110 columns).
# Fix with: git ls-files '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format not installed, skipped" >&2; exit 0; }
bad=$(git ls-files '*.cpp' '*.h' | while read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
  echo "check_format: these files need clang-format:" >&2; echo "$bad" >&2; exit 1
fi
echo "check_format: all C++ files formatted" >&2
