import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthzOk, loopbackHealthzUrl } from './healthz.ts';
import { createCa, issueServingCert, loopbackServing, type CertAndKey } from './pki.ts';

let ca: CertAndKey;
let server: Server;
let port: number;
let status = 200;

beforeAll(async () => {
  ca = await createCa();
  const serving = await issueServingCert(ca, loopbackServing('kube-scheduler'));
  server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    res.writeHead(req.url === '/healthz' ? status : 404).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('healthzOk', () => {
  it('is true for a 200 from a server whose cert chains to the CA', async () => {
    status = 200;
    expect(loopbackHealthzUrl(port)).toBe(`https://127.0.0.1:${port}/healthz`);
    expect(await healthzOk(loopbackHealthzUrl(port), ca.certPem)).toBe(true);
  });

  it('is false for any other status', async () => {
    status = 500;
    expect(await healthzOk(loopbackHealthzUrl(port), ca.certPem)).toBe(false);
  });

  it('rejects a server the CA did not sign', async () => {
    const stranger = await createCa('stranger');
    await expect(healthzOk(loopbackHealthzUrl(port), stranger.certPem)).rejects.toThrow();
  });
});
