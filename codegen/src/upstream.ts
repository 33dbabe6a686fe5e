// Copies the CRDs of the user APIs Ambit consumes from their maintained upstream Go modules into crds/upstream/.
//
// No maintained npm package ships these CRDs as YAML (docs/decisions.md); the Go modules istio.io/api and
// sigs.k8s.io/gateway-api do, at pinned versions, through the Go module proxy. The copies are checked in so that
// codegen and the cluster install read the exact bytes upstream publishes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One upstream file to vendor. */
export interface UpstreamFile {
  /** Go module path and version, e.g. `istio.io/api@v1.30.3`. */
  readonly module: string;
  /** Path of the file inside the module. */
  readonly path: string;
  /** Where it goes, relative to crds/upstream/. */
  readonly target: string;
}

const ISTIO = 'istio.io/api@v1.30.3';
const GATEWAY_API = 'sigs.k8s.io/gateway-api@v1.6.3';

const gatewayApiStandard = [
  'gatewayclasses',
  'gateways',
  'httproutes',
  'grpcroutes',
  'referencegrants',
  'backendtlspolicies',
  'listenersets',
  'tlsroutes',
  'tcproutes',
  'udproutes',
];

/** Every file we vendor: all 15 Istio CRDs (every served version) and Gateway API's standard channel. */
export const upstreamFiles: readonly UpstreamFile[] = [
  {
    module: ISTIO,
    path: 'kubernetes/customresourcedefinitions.gen.yaml',
    target: 'istio/customresourcedefinitions.gen.yaml',
  },
  ...gatewayApiStandard.map((plural) => ({
    module: GATEWAY_API,
    path: `config/crd/standard/gateway.networking.k8s.io_${plural}.yaml`,
    target: `gateway-api/gateway.networking.k8s.io_${plural}.yaml`,
  })),
];

/** Downloads (or finds in the Go module cache) a module and returns its directory. */
export function goModuleDir(module: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', module], {
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir) {
    throw new Error(`go mod download ${module} failed: ${info.Error ?? 'no directory reported'}`);
  }
  return info.Dir;
}

/** The content we write for one upstream file: a provenance header, then upstream's bytes unchanged. */
export function vendoredContent(file: UpstreamFile, upstream: string): string {
  const header =
    `# Source: ${file.module} ${file.path} (Apache-2.0), vendored unchanged by \`make codegen\`.\n` +
    `# Do not edit: change the version in codegen/src/upstream.ts and regenerate.\n`;
  return header + upstream;
}

/** Reads every upstream file and returns `target -> content`. */
export function readUpstreamFiles(files: readonly UpstreamFile[] = upstreamFiles): Map<string, string> {
  const dirs = new Map<string, string>();
  const out = new Map<string, string>();
  for (const file of files) {
    let dir = dirs.get(file.module);
    if (!dir) {
      dir = goModuleDir(file.module);
      dirs.set(file.module, dir);
    }
    out.set(file.target, vendoredContent(file, readFileSync(join(dir, file.path), 'utf8')));
  }
  return out;
}
