// Test helper: a component command line as a map, so tests read flags by name.
import { expect } from 'vitest';

/** Flag name → value, failing on a repeated flag (the components would take the last one silently). */
export function flags(args: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const arg of args) {
    const [name = '', ...rest] = arg.split('=');
    expect(map.has(name), `${name} repeated`).toBe(false);
    map.set(name, rest.join('='));
  }
  return map;
}
