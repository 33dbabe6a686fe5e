// Unit tests: what the install waits for, and that its commands are the README's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AMBIT_INSTALL_STEPS, REPO_DIR, ztunnelsReadyOnEveryNode } from './ambit-install.ts';

describe('installAmbit', () => {
  it('waits for a ready ztunnel on every node, not just for as many as are scheduled', () => {
    expect(ztunnelsReadyOnEveryNode('2/2', 2)).toBe(true);
    expect(ztunnelsReadyOnEveryNode('2/2\n', 2)).toBe(true);
    expect(ztunnelsReadyOnEveryNode('1/2', 2)).toBe(false);
    expect(ztunnelsReadyOnEveryNode('1/1', 2)).toBe(false);
    expect(ztunnelsReadyOnEveryNode('/', 2)).toBe(false);
  });

  it("runs the README's install commands", () => {
    const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
    expect(readme).toContain(`kubectl ${AMBIT_INSTALL_STEPS.install.join(' ')}`);
    expect(readme).toContain(`kubectl ${AMBIT_INSTALL_STEPS.mesh.join(' ')}`);
  });
});
