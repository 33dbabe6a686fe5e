# Ambit: one entry point for people and CI. Every target that needs tools depends on `install`, which is
# idempotent and quick when nothing changed.
#
#   make demo     the local demo cluster (see README)
#   make test     everything CI checks
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The repo pins its Node.js runtime (npm package node@24); put it first so every tool runs on it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
STAMP := node_modules/.ambit-install-stamp

.PHONY: help install install-system install-node install-components codegen codegen-check manifests manifests-check \
	typecheck lint format format-check test test-unit test-integration cluster-up box-up demo bench

help:
	@echo "make demo          start the local demo cluster (the box with Ambit installed, as root) and print KUBECONFIG"
	@echo "make test          codegen check, typecheck, lint, unit and integration tests"
	@echo "make cluster-up    start only the control plane (no nodes) and print KUBECONFIG"
	@echo "make box-up        the box: control plane, NODES=n nodes (kubelet, kube-proxy), CoreDNS, LoadBalancers, Ambit (AMBIT=0: not)"
	@echo "make codegen       regenerate vendored CRDs, TypeScript types and validators"
	@echo "make manifests     regenerate the install manifests under manifests/"
	@echo "make bench         benchmarks (numbers, not pass/fail; the ztunnel one needs root)"

install: install-system install-node install-native install-components

install-system:
	@e2e/components/install-system.sh

install-node: $(STAMP)
$(STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "install: npm is required to bootstrap (any Node.js >= 18 with npm)"; exit 1; }
	npm ci --no-audit --no-fund
	@node --version | grep -q '^v24\.' || { echo "install: expected the pinned Node 24 in node_modules/.bin"; exit 1; }
	@touch $(STAMP)

# The native addon (dataplane/native, Rust + napi-rs). Cargo is incremental, so this is quick when nothing
# changed; the copy goes through a rename so a process that has the old addon mapped keeps a whole file.
.PHONY: install-native test-native
install-native:
	@command -v cargo >/dev/null || { echo "install: the Rust toolchain (cargo) is required to build dataplane/native"; exit 1; }
	cargo build --release --quiet --locked --manifest-path dataplane/native/Cargo.toml
	@cp dataplane/native/target/release/libambit_native.so dataplane/native/ambit_native.node.tmp
	@mv -f dataplane/native/ambit_native.node.tmp dataplane/native/ambit_native.node

install-components:
	@command -v go >/dev/null || { echo "install: the Go toolchain is required to build kube-apiserver and etcd"; exit 1; }
	@e2e/components/build.sh all >/dev/null

codegen: install-node
	node codegen/src/main.ts

codegen-check: install-node
	node codegen/src/main.ts --check

manifests: install-node
	node operator/src/cli/manifests.ts

manifests-check: install-node
	node operator/src/cli/manifests.ts --check

typecheck: install-node
	tsc -p tsconfig.json

lint: install-node
	eslint --max-warnings 0 .

format: install-node
	prettier --write .

format-check: install-node
	prettier --check .

test-unit: install-node
	vitest run --project unit

test-integration: install
	vitest run --project integration

test-native:
	cargo test --quiet --locked --manifest-path dataplane/native/Cargo.toml

test: install test-native codegen-check manifests-check typecheck lint format-check
	vitest run

bench: install
	node --expose-gc operator/bench/translate.bench.ts
	node dataplane/hbone/bench/hbone.bench.ts
	node dataplane/native/bench/hbone-native.bench.ts
	node --expose-gc dataplane/ztunnel/bench/ztunnel.bench.ts
	node dataplane/waypoint/bench/waypoint.bench.ts

cluster-up: install
	node e2e/cluster/up.ts

box-up: install
	node e2e/box/up.ts

demo: box-up
