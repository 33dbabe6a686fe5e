#!/usr/bin/env bash
# Regenerates the fixtures of the Rust unit tests (cargo test): a mesh root, workload leaves with various SANs, and
# a leaf of a second, untrusted root. Valid for 100 years; only the SANs and the chains matter to the tests.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
root() { # name
  ec "$1-key.pem"
  openssl req -x509 -new -key "$1-key.pem" -subj "/O=$1" -days $days -sha256 \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}
leaf() { # name issuer san
  ec "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "/O=workload" -out "$1.csr"
  printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -days $days -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm "$1.csr" "$1.ext"
}
root root
root other-root
leaf sleep root "URI:spiffe://cluster.local/ns/default/sa/sleep"
leaf server root "URI:spiffe://cluster.local/ns/default/sa/server"
leaf two-ids root "URI:spiffe://cluster.local/ns/a/sa/one,URI:spiffe://cluster.local/ns/b/sa/two"
leaf no-spiffe root "DNS:server.default.svc,URI:https://example.com/x"
leaf stranger other-root "URI:spiffe://cluster.local/ns/default/sa/sleep"
rm root-key.pem other-root-key.pem
