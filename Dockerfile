# The deployer image: zdd-do on a small Debian, running as a non-root user, with the CA
# certificates it needs to reach the DigitalOcean API. The GitLab examples use it as
# `$CI_REGISTRY_IMAGE/deployer:latest`:
#
#   docker build -t "$CI_REGISTRY_IMAGE/deployer:latest" .     (or buildah bud, kaniko, ...)
#
# zdd-do is built without the simulator (`--no-default-features`: no `sim`, no `demo`). Add what
# your --exec scripts need (ssh, rsync, curl) in an image of your own FROM this one.
# The base images are arguments, so that a mirror (or CI without Docker Hub) can supply them.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p zdd-cli --no-default-features \
    && install -D -m 0755 target/release/zdd-do /out/zdd-do

FROM ${BASE_IMAGE} AS deployer
# ca-certificates follows Debian's security updates, so its version is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/zdd zdd
COPY --from=build /out/zdd-do /usr/local/bin/zdd-do
USER 10001:10001
WORKDIR /home/zdd
RUN zdd-do --version
CMD ["zdd-do", "--help"]
