// The waypoint as its own process for the benchmark, so that its CPU and RSS are separable from the ztunnels' (in
// the bench process) and the apps' (their own processes). It runs the production `Waypoint` as main.ts builds it,
// with two differences of bootstrap only: the config comes from a file (what main.ts does with LOCAL_CONFIG_PATH),
// and the certificate from a file the bench's in-process CA issued (main.ts fetches it from the control plane's
// CA, which the bench does not run). The access log is on and goes to stdout, as in main.ts. Started inside the
// waypoint pod's netns, so it listens on 0.0.0.0:15008 there and dials the ztunnels from there.
//   node waypoint-process.ts <config.json> <certificate.json>
// Protocol with the bench, on stderr: `ready` once serving; for each `stats` line on stdin,
// `stats {"user":µs,"system":µs,"rss":bytes,"rssMax":bytes}` (rssMax: the largest RSS seen since the last stats).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { loadStaticConfig } from '@ambit/config';
import { CertManager, tlsMaterial, type WorkloadCertificate } from '@ambit/ztunnel';
import { Waypoint } from '../src/proxy/waypoint.ts';
import { WaypointMetrics } from '../src/telemetry/metrics.ts';

const [configPath = '', certificatePath = ''] = process.argv.slice(2);
const HBONE_PORT = 15008;

interface CertificateFile extends Omit<WorkloadCertificate, 'notBefore' | 'notAfter'> {
  readonly notBefore: string;
  readonly notAfter: string;
}

async function main(): Promise<void> {
  const file = JSON.parse(await readFile(certificatePath, 'utf8')) as CertificateFile;
  const certificate: WorkloadCertificate = {
    ...file,
    notBefore: new Date(file.notBefore),
    notAfter: new Date(file.notAfter),
  };
  const certs = new CertManager({ source: { fetch: () => Promise.resolve(certificate) } });
  const loaded = await loadStaticConfig(configPath);
  for (const r of loaded.rejected) process.stderr.write(`config: rejected ${r.kind} ${r.id}: ${r.reason}\n`);
  const workload = [...loaded.state.workloads.values()].find(
    (w) => `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}` === certificate.identity,
  );
  if (!workload) throw new Error(`no workload in ${configPath} runs as ${certificate.identity}`);

  const waypoint = new Waypoint({
    self: { namespace: workload.namespace, name: workload.serviceAccount },
    identity: certificate.identity,
    certs: {
      get: async (id) => tlsMaterial(await certs.get(id)),
      peek: (id) => {
        const c = certs.peek(id);
        return c && tlsMaterial(c);
      },
    },
    metrics: new WaypointMetrics(),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  waypoint.update(loaded.state);
  const listener = createServer({ allowHalfOpen: true, noDelay: true });
  await waypoint.serve(listener);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(HBONE_PORT, '0.0.0.0', resolve);
  });

  let rssMax = process.memoryUsage.rss();
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 100);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'stats') return;
    const cpu = process.cpuUsage();
    const rss = process.memoryUsage.rss();
    process.stderr.write(`stats ${JSON.stringify({ ...cpu, rss, rssMax: Math.max(rssMax, rss) })}\n`);
    rssMax = rss;
  });
  // The bench closing stdin (or going away) ends the waypoint.
  lines.once('close', () => {
    clearInterval(sampler);
    listener.close();
    void waypoint.drain(0).then(() => {
      certs.stop();
      process.exit(0);
    });
  });
  process.stderr.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(
    `waypoint-process: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
