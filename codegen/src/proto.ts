// Generates TypeScript for the .proto files under codegen/proto/ with buf (npm @bufbuild/buf: a pinned binary, no
// protoc install) and ts-proto (messages with encode/decode, @grpc/grpc-js service definitions and clients).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * ts-proto options, each chosen for Node's type stripping and our style: `.ts` import suffixes, enums as `as const`
 * objects of strings (no TypeScript enums), 64-bit integers as numbers, optional sub-messages, oneofs as unions,
 * grpc-js services; no JSON or partial helpers (the wire edge converts to domain types in one place).
 */
const TS_PROTO_OPTIONS = [
  'esModuleInterop=true',
  'importSuffix=.ts',
  'outputServices=grpc-js',
  'forceLong=number',
  'useOptionals=messages',
  'enumsAsLiterals=true',
  'stringEnums=true',
  'env=node',
  'oneof=unions-value',
  'outputJsonMethods=false',
  'outputPartialMethods=false',
];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Generated files, `codegen/out/proto/<path>` -> content, for every .proto under `protoDir`. */
export function generateProto(protoDir: string): Map<string, string> {
  const work = mkdtempSync(join(tmpdir(), 'ambit-proto-'));
  try {
    const out = join(work, 'out');
    const template = join(work, 'buf.gen.yaml');
    const opts = TS_PROTO_OPTIONS.map((o) => `      - ${o}\n`).join('');
    writeFileSync(
      template,
      `version: v2\nplugins:\n  - local: protoc-gen-ts_proto\n    out: ${out}\n    opt:\n${opts}`,
    );
    execFileSync('buf', ['lint', protoDir], { stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync('buf', ['generate', protoDir, '--template', template], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return new Map(
      listFiles(out).map((f) => [`codegen/out/proto/${relative(out, f)}`, readFileSync(f, 'utf8')]),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
