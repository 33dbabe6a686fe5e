#!/usr/bin/env bash
# Installs the Debian packages the cluster-in-a-box needs, only those missing (so a ready machine skips apt):
# kubectl for people and tests, iproute2/iptables/util-linux for node and pod network namespaces, and the
# reference CNI plugins (bridge, host-local, loopback) the fake kubelet calls as a container runtime does, and
# lua5.1 (the Lua Argo CD's health checks are written in) to test the Mesh health check, and tcpdump to show that
# only TLS crosses between nodes.
set -euo pipefail

missing=()
command -v kubectl >/dev/null || missing+=(kubectl)
command -v ip >/dev/null || missing+=(iproute2)
command -v iptables >/dev/null || missing+=(iptables)
command -v unshare >/dev/null || missing+=(util-linux)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v lua5.1 >/dev/null || missing+=(lua5.1)
command -v tcpdump >/dev/null || missing+=(tcpdump)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-system: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
