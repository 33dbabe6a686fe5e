// Golden tests of the GAMMA route translators: testdata/{http-route,grpc-route}/<case>.in.yaml (routes,
// ReferenceGrants and the Services that exist) → <case>.out.yaml (route tables and statuses). UPDATE_GOLDEN=1
// rewrites the outputs.
import type { GRPCRoute, HTTPRoute, ReferenceGrant } from '@ambit/codegen/crds';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { RouteTranslation } from './gateway-routes.ts';
import { methodPath, translateGrpcRoutes } from './grpc-route.ts';
import { parseGatewayDuration, translateHttpRoutes } from './http-route.ts';
import type { RouteContext } from './route-rules.ts';

const testdata = join(import.meta.dirname, 'testdata');

/** The objects of one input file, by kind. */
interface Inputs {
  readonly httpRoutes: HTTPRoute[];
  readonly grpcRoutes: GRPCRoute[];
  readonly ctx: RouteContext;
}

interface ServiceDoc {
  readonly kind: 'Service';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: { readonly ports: readonly { readonly port: number }[] };
}
type Doc = HTTPRoute | GRPCRoute | ReferenceGrant | ServiceDoc;

function load(path: string): Inputs {
  const docs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Doc);
  const services = new Map<string, number[]>();
  const inputs = {
    httpRoutes: [] as HTTPRoute[],
    grpcRoutes: [] as GRPCRoute[],
    grants: [] as ReferenceGrant[],
  };
  for (const doc of docs) {
    if (doc.kind === 'HTTPRoute') inputs.httpRoutes.push(doc);
    else if (doc.kind === 'GRPCRoute') inputs.grpcRoutes.push(doc);
    else if (doc.kind === 'ReferenceGrant') inputs.grants.push(doc);
    else
      services.set(
        `${doc.metadata.namespace}/${doc.metadata.name}`,
        doc.spec.ports.map((p) => p.port),
      );
  }
  const ctx: RouteContext = {
    service: (namespace, name) => {
      const ports = services.get(`${namespace}/${name}`);
      return ports && { ports };
    },
    referenceGrants: inputs.grants,
  };
  return { httpRoutes: inputs.httpRoutes, grpcRoutes: inputs.grpcRoutes, ctx };
}

/** Compares with the golden file; UPDATE_GOLDEN=1 rewrites it. */
function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

function cases(dir: string): string[] {
  return readdirSync(join(testdata, dir))
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length));
}

function render(t: RouteTranslation): string {
  return stringify(t, { lineWidth: 0, aliasDuplicateObjects: false });
}

describe.each<[string, (i: Inputs) => RouteTranslation]>([
  ['http-route', (i) => translateHttpRoutes(i.httpRoutes, i.ctx)],
  ['grpc-route', (i) => translateGrpcRoutes(i.grpcRoutes, i.ctx)],
])('%s golden', (dir, translate) => {
  it.each(cases(dir))('%s', (name) => {
    const inputs = load(join(testdata, dir, `${name}.in.yaml`));
    golden(join(testdata, dir, `${name}.out.yaml`), render(translate(inputs)));
  });
});

describe('parseGatewayDuration', () => {
  it.each<[string, number | undefined]>([
    ['10s', 10_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1m1s1ms', 61_001],
    ['0s', 0],
    ['10', undefined],
    ['1.5s', undefined],
    ['', undefined],
  ])('%s → %s', (text, ms) => {
    expect(parseGatewayDuration(text)).toBe(ms);
  });
});

describe('methodPath', () => {
  it.each<[Parameters<typeof methodPath>[0], ReturnType<typeof methodPath>]>([
    [{ service: 'helloworld.Greeter', method: 'SayHello' }, { exact: '/helloworld.Greeter/SayHello' }],
    [{ service: 'helloworld.Greeter' }, { prefix: '/helloworld.Greeter/' }],
    [{ method: 'Say.Hello' }, { regex: '/[^/]+/Say\\.Hello' }],
    [{ type: 'RegularExpression', service: 'hello.*' }, { regex: '/(?:hello.*)/[^/]+' }],
    [undefined, undefined],
  ])('%j → %j', (method, path) => {
    expect(methodPath(method)).toEqual(path);
  });
});
