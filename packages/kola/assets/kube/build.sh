#!/usr/bin/env bash
# Builds the Kubernetes server binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet) from Debian bookworm's own `kubernetes` source package
# with Debian's Go, offline, the recipe measured in ENVIRONMENT.md ("Kubernetes"),
# and caches them by Debian source version OUTSIDE the work tree:
#   ${MANTLE_KUBE_CACHE:-~/.cache/mantle-ts/kubernetes}/<version>/bin/
# kubectl is Debian's own `kubernetes-client` of the same source, unpacked into
# the same bin/ (not installed: the machine may already have another kubectl).
# Prints the bin directory on stdout. A second run finds the cache and prints it
# at once; concurrent runs wait for each other (flock).
#   MANTLE_KUBE_VERSION   pin a Debian source version (default: what bookworm /
#                         bookworm-security carry now, or the newest cached build).
set -euo pipefail
cache="${MANTLE_KUBE_CACHE:-$HOME/.cache/mantle-ts/kubernetes}"
mkdir -p "$cache"
log() { echo "kube-build: $*" >&2; }

complete() { [ -f "$1/bin/.complete" ]; }

newest_cached() {
  local d best=""
  for d in "$cache"/*/; do
    d="${d%/}"
    complete "$d" && best="$d"
  done
  [ -n "$best" ] && echo "$best"
}

if [ -z "${MANTLE_KUBE_VERSION:-}" ] && best="$(newest_cached)"; then
  echo "$best/bin"
  exit 0
fi
if [ -n "${MANTLE_KUBE_VERSION:-}" ] && complete "$cache/$MANTLE_KUBE_VERSION"; then
  echo "$cache/$MANTLE_KUBE_VERSION/bin"
  exit 0
fi

exec 9>"$cache/.build.lock"
flock 9
# Someone else may have built it while we waited.
if [ -z "${MANTLE_KUBE_VERSION:-}" ] && best="$(newest_cached)"; then echo "$best/bin"; exit 0; fi

need=()
command -v go >/dev/null || need+=(golang-go)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work="$cache/.work"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/archives/partial" "$work/src"
# A private apt state: deb-src lines for bookworm and its security suite, so the
# machine's own apt configuration and lists are never touched.
cat >"$work/apt/sources.list" <<'SRC'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
aptp=(-o "Dir::Etc::sourcelist=$work/apt/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::lists=$work/apt/lists" -o "Dir::Cache::archives=$work/apt/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
log "fetching the package lists (private apt state in $work/apt)"
apt-get "${aptp[@]}" -qq update
version="${MANTLE_KUBE_VERSION:-$(apt-cache "${aptp[@]}" showsrc kubernetes | sed -n 's/^Version: //p' | sort -V | tail -n 1)}"
[ -n "$version" ] || { log "no kubernetes source package in bookworm"; exit 1; }
if complete "$cache/$version"; then echo "$cache/$version/bin"; rm -rf "$work"; exit 0; fi
upstream="${version#*really}"
upstream="${upstream%%-*}"
upstream="${upstream#*:}"
major="${upstream%%.*}"
minor="${upstream#*.}"
minor="${minor%%.*}"
log "building Kubernetes v$upstream from Debian source $version (about 5 minutes on 2 idle cores)"
(
  cd "$work/src"
  apt-get "${aptp[@]}" -qq source --download-only "kubernetes=$version" >/dev/null
  apt-get "${aptp[@]}" -qq download "kubernetes-client=$version" >/dev/null
  dpkg-source --no-check -x ./*.dsc tree >/dev/null 2>&1
)
tree="$work/src/tree"
gopath="$work/gopath"
mkdir -p "$gopath/src/k8s.io"
ln -s "$tree" "$gopath/src/k8s.io/kubernetes"
export GOPATH="$gopath" GO111MODULE=off CGO_ENABLED=0 GOPROXY=off GOFLAGS=
# Kept across a failed build (a retry is then quick), removed after a good one.
export GOCACHE="$cache/.go-build"
cd "$gopath/src/k8s.io/kubernetes"

# The generated OpenAPI definitions are not in the tarball: openapi-gen over
# every package tagged +k8s:openapi-gen=, as upstream's Makefile.generated_files.
log "generating OpenAPI definitions"
go build -o "$work/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
# -R: vendor/k8s.io/* are symlinks into staging/, and grep -r would skip them.
inputs="$(grep -Rl --include='*.go' -e '+k8s:openapi-gen=' pkg vendor/k8s.io 2>/dev/null \
  | grep -v '_test.go$' | xargs -n1 dirname | sort -u \
  | grep -v -e '^pkg/generated/openapi' -e 'vendor/k8s.io/kube-openapi' -e 'vendor/k8s.io/code-generator' \
  | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)"
"$work/openapi-gen" --input-dirs "$inputs" \
  --output-base "$gopath/src" \
  --output-package k8s.io/kubernetes/pkg/generated/openapi \
  -O zz_generated.openapi \
  --go-header-file vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
  --report-filename "$work/openapi-violations.txt" >/dev/null 2>"$work/openapi-gen.log" \
  || { tail -n 20 "$work/openapi-gen.log" >&2; exit 1; }
grep -q 'apiextensions/v1.CustomResourceDefinition"' pkg/generated/openapi/zz_generated.openapi.go \
  || { log "the generated OpenAPI definitions lack apiextensions (the API server would refuse to start)"; exit 1; }

ld="-s -w"
for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ld="$ld -X $pkg.gitVersion=v$upstream -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
out="$cache/$version/bin"
rm -rf "$cache/$version"
mkdir -p "$out"
log "compiling"
go build -trimpath -ldflags "$ld" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet
dpkg-deb -x "$work"/src/kubernetes-client_*.deb "$work/client"
cp "$work/client/usr/bin/kubectl" "$out/kubectl"
cp build/pause/linux/pause.c "$out/pause.c"
"$out/kube-apiserver" --version >&2
echo "$version" >"$out/.complete"
cd /
rm -rf "$work" "$GOCACHE"
log "cached in $out"
echo "$out"
