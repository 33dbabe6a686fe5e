// The Argo CD health check of a Mesh, run by a real Lua 5.1 interpreter (Argo CD's gopher-lua follows 5.1) against
// Mesh objects as the operator writes them.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', '..', 'manifests', 'argocd', 'health-mesh.lua');

/** A JSON value as a Lua table constructor (ASCII test data only). */
function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `[${JSON.stringify(k)}] = ${toLua(x)}`)
    .join(', ')}}`;
}

async function health(obj: unknown): Promise<{ status: string; message: string }> {
  const body = await readFile(script, 'utf8');
  const program = `obj = ${toLua(obj)}\nlocal function check()\n${body}\nend\nlocal hs = check()\nio.write(hs.status, "\\t", hs.message or "")`;
  const { stdout } = await promisify(execFile)('lua5.1', ['-e', program], { encoding: 'utf8' });
  const [status = '', message = ''] = stdout.split('\t');
  return { status, message };
}

const cond = (type: string, status: string, message: string, observedGeneration = 2) => ({
  type,
  status,
  reason: 'R',
  message,
  observedGeneration,
});

describe('Argo CD health check of a Mesh (Lua)', () => {
  it('is Progressing before the operator wrote any status', async () => {
    expect((await health({ metadata: { generation: 1 } })).status).toBe('Progressing');
  });

  it('is Healthy when Ready=True for the current generation', async () => {
    const h = await health({
      metadata: { generation: 2 },
      status: { conditions: [cond('Ready', 'True', 'ztunnel 2/2 ready'), cond('Degraded', 'False', 'ok')] },
    });
    expect(h).toEqual({ status: 'Healthy', message: 'ztunnel 2/2 ready' });
  });

  it('is Progressing while Ready=True describes an older generation', async () => {
    const h = await health({
      metadata: { generation: 3 },
      status: { conditions: [cond('Ready', 'True', 'x')] },
    });
    expect(h.status).toBe('Progressing');
    expect(h.message).toContain('generation 3');
  });

  it('is Degraded with the operator message when Degraded=True', async () => {
    const h = await health({
      metadata: { generation: 2 },
      status: {
        conditions: [
          cond('Ready', 'False', 'x'),
          cond('Degraded', 'True', 'spec.imagePullSecrets[0].name: Secret "ambit-system/x" not found'),
        ],
      },
    });
    expect(h).toEqual({
      status: 'Degraded',
      message: 'spec.imagePullSecrets[0].name: Secret "ambit-system/x" not found',
    });
  });

  it('is Progressing with the rollout message while not ready', async () => {
    const h = await health({
      metadata: { generation: 2 },
      status: { conditions: [cond('Ready', 'False', 'ztunnel 1/2 ready, node agent 2/2 ready')] },
    });
    expect(h).toEqual({ status: 'Progressing', message: 'ztunnel 1/2 ready, node agent 2/2 ready' });
  });
});
