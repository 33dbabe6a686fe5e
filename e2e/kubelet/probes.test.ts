// Unit tests: probe workers on a fake clock, and probe specs to runners.
import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import type { ProbeOutcome } from './probe-state.ts';
import type { NodeProber } from './prober.ts';
import {
  ContainerProbes,
  ProbeWorker,
  probeRunner,
  resolvePort,
  type ContainerProbeStatus,
  type ProbeClock,
  type ProbeRunner,
} from './probes.ts';

/** A clock that jumps forward on every sleep, and parks a sleep that would pass `horizonMs` until aborted. */
function fakeClock(horizonMs: number): ProbeClock {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms, signal) => {
      if (t + ms > horizonMs) {
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      t += ms;
      return Promise.resolve();
    },
  };
}

function scripted(clock: ProbeClock, outcomes: ProbeOutcome[], calls: number[]): ProbeRunner {
  return () => {
    calls.push(clock.now());
    return Promise.resolve({ outcome: outcomes.shift() ?? 'success', detail: '' });
  };
}

describe('ProbeWorker', () => {
  it('waits initialDelaySeconds, then probes every periodSeconds', async () => {
    const clock = fakeClock(12_000);
    const calls: number[] = [];
    const w = new ProbeWorker({
      kind: 'readiness',
      probe: { initialDelaySeconds: 5, periodSeconds: 2 },
      runner: scripted(clock, [], calls),
      clock,
    });
    w.start();
    await vi.waitFor(() => expect(calls).toEqual([5_000, 7_000, 9_000, 11_000]));
    expect(w.result).toBe('success');
    await w.stop();
  });

  it('stops probing once liveness fails failureThreshold times in a row', async () => {
    const clock = fakeClock(1_000_000);
    const calls: number[] = [];
    const events: string[] = [];
    const w = new ProbeWorker({
      kind: 'liveness',
      probe: { periodSeconds: 1, failureThreshold: 2 },
      runner: scripted(clock, ['failure', 'success', 'failure', 'failure', 'success'], calls),
      onProbe: (e) => events.push(`${e.outcome}:${e.state.result}:${String(e.changed)}`),
      clock,
    });
    w.start();
    await vi.waitFor(() => expect(w.state.onHold).toBe(true));
    expect(calls).toEqual([0, 1_000, 2_000, 3_000]);
    expect(events).toEqual([
      'failure:success:false',
      'success:success:false',
      'failure:success:false',
      'failure:failure:true',
    ]);
    await w.stop();
  });

  it('counts a runner that throws as a failure', async () => {
    const clock = fakeClock(0);
    const w = new ProbeWorker({
      kind: 'readiness',
      probe: { failureThreshold: 1 },
      runner: () => Promise.reject(new Error('agent gone')),
      onProbe: (e) => expect(e.detail).toBe('agent gone'),
      clock,
    });
    w.start();
    await vi.waitFor(() => expect(w.state.last).toBe('failure'));
    await w.stop();
  });
});

describe('ContainerProbes', () => {
  it('holds readiness and liveness back until the startup probe succeeds', async () => {
    const clock = fakeClock(30_000);
    const calls: Record<string, number[]> = { startup: [], readiness: [] };
    const prober = {
      http: (p: { path: string }) => {
        const kind = p.path === '/started' ? 'startup' : 'readiness';
        calls[kind]?.push(clock.now());
        const ok = kind === 'readiness' || clock.now() >= 4_000;
        return Promise.resolve({ id: 1, ok, detail: ok ? 'HTTP 200' : 'HTTP 503' });
      },
    } as unknown as NodeProber;
    const container: V1Container = {
      name: 'app',
      ports: [{ name: 'http', containerPort: 8080 }],
      startupProbe: { httpGet: { path: '/started', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
      readinessProbe: { httpGet: { path: 'ready', port: 8080 }, periodSeconds: 10, initialDelaySeconds: 1 },
    };
    const statuses: ContainerProbeStatus[] = [];
    const probes = new ContainerProbes({
      container,
      target: { podIP: '10.244.50.2', container, prober },
      onStatus: (s) => statuses.push(s),
      clock,
    });
    probes.start();
    await vi.waitFor(() => expect(calls.readiness).toEqual([4_000, 14_000, 24_000]));
    expect(calls.startup).toEqual([0, 2_000, 4_000]);
    expect(statuses).toEqual([
      { started: false, ready: false, live: true },
      { started: true, ready: false, live: true },
      { started: true, ready: true, live: true },
    ]);
    await probes.stop();
  });
});

describe('probe specs', () => {
  const container: V1Container = { name: 'app', ports: [{ name: 'admin', containerPort: 15000 }] };

  it('resolves numeric, numeric-string and named ports', () => {
    expect(resolvePort(80, container)).toBe(80);
    expect(resolvePort('8080', container)).toBe(8080);
    expect(resolvePort('admin', container)).toBe(15000);
    expect(() => resolvePort('nope', container)).toThrow(
      expect.objectContaining({ code: 'ERR_PROBE_UNSUPPORTED' }),
    );
  });

  it('sends HTTP probes to the pod IP with the path normalised and headers kept', async () => {
    const http = vi.fn().mockResolvedValue({ id: 1, ok: true, detail: 'HTTP 204' });
    const run = probeRunner(
      {
        httpGet: {
          path: 'healthz?full=1',
          port: 'admin',
          httpHeaders: [{ name: 'Host', value: 'app.local' }],
        },
      },
      { podIP: '10.244.50.2', container, prober: { http } as unknown as NodeProber },
    );
    await expect(run(1_000)).resolves.toEqual({ outcome: 'success', detail: 'HTTP 204' });
    expect(http).toHaveBeenCalledWith({
      scheme: 'http',
      host: '10.244.50.2',
      port: 15000,
      path: '/healthz?full=1',
      headers: [['Host', 'app.local']],
      timeoutMs: 1_000,
    });
  });

  it('fails exec probes on non-zero exit and timeout, and refuses gRPC', async () => {
    const exec = vi
      .fn()
      .mockResolvedValueOnce({ code: 1, signal: null, output: 'no', timedOut: false })
      .mockResolvedValueOnce({ code: null, signal: 'SIGKILL', output: '', timedOut: true });
    const run = probeRunner(
      { exec: { command: ['cat', '/tmp/ready'] } },
      { podIP: 'x', container, prober: {} as NodeProber, exec },
    );
    await expect(run(500)).resolves.toMatchObject({ outcome: 'failure', detail: 'exit 1: no' });
    await expect(run(500)).resolves.toMatchObject({ outcome: 'failure', detail: 'timeout after 500 ms' });
    expect(exec).toHaveBeenCalledWith(['cat', '/tmp/ready'], { timeoutMs: 500 });
    expect(() =>
      probeRunner({ grpc: { port: 1 } }, { podIP: 'x', container, prober: {} as NodeProber }),
    ).toThrow(expect.objectContaining({ code: 'ERR_PROBE_UNSUPPORTED' }));
  });
});
