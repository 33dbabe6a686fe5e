import { describe, expect, it } from 'vitest';
import { TeardownStack } from './teardown-stack.ts';

describe('TeardownStack', () => {
  it('undoes in reverse, past failures, once', async () => {
    const done: string[] = [];
    const stack = new TeardownStack();
    stack.push('network', () => Promise.resolve(done.push('network')));
    stack.push('cluster', () => Promise.reject(new Error('boom')));
    stack.push('kube-proxy', () => Promise.resolve(done.push('kube-proxy')));
    const failures = await stack.unwind();
    expect(done).toEqual(['kube-proxy', 'network']);
    expect(failures.map((f) => f.message)).toEqual(['cluster: boom']);
    expect(stack.size).toBe(0);
    expect(await stack.unwind()).toEqual([]);
    expect(done).toEqual(['kube-proxy', 'network']);
  });
});
