import { describe, expect, it } from 'vitest';
import { nextSteps } from './next-steps.ts';

describe('nextSteps', () => {
  it('exports KUBECONFIG first, then meshes a namespace whose pods already run', () => {
    const lines = nextSteps('/k/kubeconfig', true);
    expect(lines[1]).toBe('  export KUBECONFIG=/k/kubeconfig');
    const label = lines.findIndex((l) => l.includes('istio.io/dataplane-mode=ambient'));
    const wait = lines.findIndex((l) => l.includes('wait --for=condition=Ready pod'));
    const exec = lines.findIndex((l) => l.includes('exec curl'));
    expect(wait).toBeGreaterThan(0);
    expect(label).toBeGreaterThan(wait);
    expect(exec).toBeGreaterThan(label);
  });

  it('tells how to install Ambit when the box started without it', () => {
    expect(nextSteps('/k', false).join('\n')).toContain('kubectl apply --server-side -k manifests/');
  });
});
