#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster-in-a-box runs, from the Go module proxy, into a cache
# outside the repo keyed by version, so later runs start in seconds.
#
#   e2e/components/build.sh [component ...]     (default: etcd kube-apiserver)
#   components: etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy
#
# Prints the bin directory on stdout. AMBIT_CACHE overrides the cache root (default ~/.cache/ambit).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.5
cache=${AMBIT_CACHE:-$HOME/.cache/ambit}
bin="$cache/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$bin"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(etcd kube-apiserver)

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"

for c in "${components[@]}"; do
  if [ -x "$bin/$c" ]; then continue; fi
  start=$(date +%s)
  echo "building $c (cold builds take minutes; cached in $bin)" >&2
  case "$c" in
    etcd)
      (cd "$here/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$c.tmp" .) ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)
      (cd "$here/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c") ;;
    *) echo "build.sh: unknown component '$c'" >&2; exit 2 ;;
  esac
  mv "$bin/$c.tmp" "$bin/$c"
  echo "built $c in $(( $(date +%s) - start ))s" >&2
done
echo "$bin"
