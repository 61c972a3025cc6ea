# The five tools (gangue, cork, ore, plume, kola) as one image, installed from
# the same npm tarballs the registry gets, with what they run at run time.
#
#   npm run build && node scripts/pack.mjs      # the tarballs, into .packs/
#   docker build -t mantle-ts \
#     --build-arg VERSION=$(node -p 'require("./lerna.json").version') \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm mantle-ts kola --help
#
# scripts/image/build.sh does all of that. Without a registry (these machines),
# it builds the base from a Debian root file system and Node 22 from npm
# (scripts/image/base.sh) and passes it as BASE.
ARG BASE=node:22-bookworm-slim

# The install, in a stage of its own: only its result reaches the image. The
# tarballs of scripts/pack.mjs; their other dependencies come from the npm
# registry. npm-ca.pem, when there, is the CA the build machine's npm trusts
# (a TLS-inspecting proxy's): used here, never part of the image. All five
# as one project in /opt/mantle, not five global installs: npm gives each
# global package a tree of its own, and ore, plume, gangue and cork each
# depend on the cloud SDKs (scripts/pack.mjs), which one tree holds once
# (294 MiB for the five, against 583 MiB as global installs).
FROM ${BASE} AS install
COPY .packs/ /tmp/packs/
RUN if [ -f /tmp/packs/npm-ca.pem ]; then export npm_config_cafile=/tmp/packs/npm-ca.pem; fi; \
    mkdir -p /opt/mantle && npm install --prefix /opt/mantle --no-save --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
      /tmp/packs/*.tgz

FROM ${BASE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mantle-ts" \
      org.opencontainers.image.description="Release and image tooling for a container-optimised Linux: gangue, cork, ore, plume, kola" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# kola: QEMU, its UEFI firmware, qemu-img; gangue and plume: gpg; cork and kola: ssh.
# A base that already has them (the offline one) skips apt altogether.
RUN set -eu; \
    missing=""; \
    for p in qemu-system-x86 qemu-utils ovmf gnupg openssh-client ca-certificates; do \
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; \
      rm -rf /var/lib/apt/lists/*; \
    fi

COPY --from=install /opt/mantle/node_modules/ /opt/mantle/node_modules/
# Nothing the tools do needs root. kola under KVM needs /dev/kvm: run with
# --device /dev/kvm --group-add $(stat -c %g /dev/kvm). The first run, as root,
# also writes the V8 code cache of oclif's bundle beside it (@mantle/kit/start),
# which the user mantle cannot write but reads on every start.
RUN for t in gangue cork ore plume kola; do ln -s "/opt/mantle/node_modules/.bin/$t" "/usr/local/bin/$t" && "$t" version >/dev/null; done \
    && useradd --create-home --shell /bin/bash --uid 10001 --user-group mantle
USER mantle
WORKDIR /home/mantle
CMD ["kola", "--help"]
