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
# (a TLS-inspecting proxy's): used here, never part of the image.
FROM ${BASE} AS install
COPY .packs/ /tmp/packs/
RUN if [ -f /tmp/packs/npm-ca.pem ]; then export npm_config_cafile=/tmp/packs/npm-ca.pem; fi; \
    npm install --global --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error /tmp/packs/*.tgz

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

COPY --from=install /usr/local/lib/node_modules/@mantle/ /usr/local/lib/node_modules/@mantle/
COPY --from=install /usr/local/bin/ /usr/local/bin/
# Nothing the tools do needs root. kola under KVM needs /dev/kvm: run with
# --device /dev/kvm --group-add $(stat -c %g /dev/kvm).
RUN for t in gangue cork ore plume kola; do "$t" version >/dev/null; done \
    && useradd --create-home --shell /bin/bash --uid 10001 --user-group mantle
USER mantle
WORKDIR /home/mantle
CMD ["kola", "--help"]
