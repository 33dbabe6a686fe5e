#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster-in-a-box runs, from the Go module proxy, into a cache
# outside the repo keyed by version, so later runs start in seconds.
#
#   e2e/components/build.sh [component ... | all]
#     default: etcd kube-apiserver kube-controller-manager kube-scheduler (what e2e/cluster starts;
#              keep in step with COMPONENTS in e2e/cluster/binaries.ts)
#     all:     the default plus kube-proxy, coredns and kubelet-server
#
# kubelet-server is ours (e2e/kubelet-server: the fake kubelet's exec/logs/port-forward API on k8s.io/kubelet
# $K8S_VERSION); its cache key is a hash of its sources, so an edit rebuilds it.
#
# Prints the bin directory on stdout. AMBIT_CACHE overrides the cache root (default ~/.cache/ambit).
# A component whose binary is already in the bin directory is not rebuilt (coredns: only if its -version
# names the pinned release; kubelet-server: only if built from the same sources). Concurrent runs building the
# same component wait for each other (flock), so a second run finds the first one's binary instead of building
# it again.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.5
COREDNS_VERSION=v1.12.4
cache=${AMBIT_CACHE:-$HOME/.cache/ambit}
bin="$cache/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$bin"

default_components=(etcd kube-apiserver kube-controller-manager kube-scheduler)
components=("$@")
[ ${#components[@]} -gt 0 ] || components=("${default_components[@]}")
if [ "${components[*]}" = all ]; then components=("${default_components[@]}" kube-proxy coredns kubelet-server); fi

kubelet_server_src="$here/../kubelet-server"
# The kubelet server's version: its go.mod, go.sum and Go files, hashed in name order.
kubelet_server_sum() {
  (cd "$kubelet_server_src" && LC_ALL=C ls go.mod go.sum *.go | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"

# True if the binary for $1 is in the cache and is the pinned version.
cached() {
  [ -x "$bin/$1" ] || return 1
  case "$1" in
    coredns) "$bin/coredns" -version 2>/dev/null | grep -q "^CoreDNS-${COREDNS_VERSION#v}$" ;;
    kubelet-server) [ "$(cat "$bin/.kubelet-server.sum" 2>/dev/null)" = "$(kubelet_server_sum)" ] ;;
  esac
}

gobin=
trap '[ -z "$gobin" ] || rm -rf "$gobin"' EXIT

for c in "${components[@]}"; do
  if cached "$c"; then continue; fi
  if command -v flock >/dev/null; then
    exec 9>"$bin/.$c.lock"
    flock 9
    if cached "$c"; then exec 9>&-; continue; fi
  fi
  start=$(date +%s)
  echo "building $c (cold builds take minutes; cached in $bin)" >&2
  case "$c" in
    etcd)
      (cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$c.tmp" .) ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)
      (cd "$here/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c") ;;
    kubelet-server)
      sum=$(kubelet_server_sum)
      (cd "$kubelet_server_src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$c.tmp" .)
      echo "$sum" >"$bin/.kubelet-server.sum.tmp" ;;
    coredns)
      # `go install pkg@version` builds CoreDNS's own module with its own go.sum, outside any module of ours.
      gobin=$(mktemp -d)
      (cd "$gobin" && CGO_ENABLED=0 GOBIN="$gobin" go install -trimpath -ldflags "-s -w" \
        "github.com/coredns/coredns@$COREDNS_VERSION")
      version=$("$gobin/coredns" -version | head -n 1)
      if [ "$version" != "CoreDNS-${COREDNS_VERSION#v}" ]; then
        echo "build.sh: coredns -version says '$version', expected CoreDNS-${COREDNS_VERSION#v}" >&2
        exit 1
      fi
      mv "$gobin/coredns" "$bin/$c.tmp" ;;
    *) echo "build.sh: unknown component '$c'" >&2; exit 2 ;;
  esac
  mv "$bin/$c.tmp" "$bin/$c"
  if [ -f "$bin/.$c.sum.tmp" ]; then mv "$bin/.$c.sum.tmp" "$bin/.$c.sum"; fi
  echo "built $c in $(( $(date +%s) - start ))s" >&2
  exec 9>&- 2>/dev/null || true
done
echo "$bin"
