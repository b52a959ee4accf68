#!/usr/bin/env bash
# Installs the Prism mock server (npm package @stoplight/prism-cli) into target/prism/,
# which git already ignores. Idempotent: does nothing when the pinned version is present.
# Prints the path of the prism binary on its last line (stdout); progress goes to stderr.
#
# Version pin: 5.14.2 is the newest release whose `engines` allows Node 20
# (5.15.x and later require Node >= 24). Override with PRISM_VERSION=... if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${PRISM_VERSION:-5.14.2}"
prefix="target/prism"
bin="$PWD/$prefix/node_modules/.bin/prism"
pkg_json="$prefix/node_modules/@stoplight/prism-cli/package.json"

command -v node >/dev/null || { echo "install-prism: node is not installed (need Node >= 18.20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-prism: npm is not installed" >&2; exit 1; }

installed=""
if [ -f "$pkg_json" ]; then
  installed=$(node -p "require('./$pkg_json').version" 2>/dev/null || true)
fi

if [ "$installed" = "$version" ] && [ -x "$bin" ]; then
  echo "install-prism: @stoplight/prism-cli@$version already installed" >&2
else
  echo "install-prism: installing @stoplight/prism-cli@$version into $prefix" >&2
  mkdir -p "$prefix"
  # A private package.json keeps npm from walking up into the repository.
  [ -f "$prefix/package.json" ] || echo '{ "name": "zdd-prism", "private": true }' > "$prefix/package.json"
  npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error \
    "@stoplight/prism-cli@$version" >&2
fi

"$bin" --version >/dev/null || { echo "install-prism: $bin does not run" >&2; exit 1; }
echo "$bin"
