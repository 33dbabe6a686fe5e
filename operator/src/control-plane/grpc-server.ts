// The control plane's gRPC endpoint (15010): the config stream and the CA on one TLS port whose certificate chains
// to the mesh root (DESIGN §8). Callers authenticate with their bound token, not a client certificate.
import * as pb from '@ambit/codegen/proto';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { certificateHandler } from '../ca/certificate-service.ts';
import type { ConfigServer } from '../distribute/config-server.ts';

export interface ControlPlaneServerOptions {
  readonly host: string;
  readonly port: number;
  readonly rootPem: string;
  readonly serving: { readonly chainPem: readonly string[]; readonly keyPem: string };
  readonly config: ConfigServer;
  readonly certificates: ReturnType<typeof certificateHandler>;
}

export interface ControlPlaneServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startControlPlaneServer(o: ControlPlaneServerOptions): Promise<ControlPlaneServer> {
  const server = new Server();
  server.addService(pb.ConfigDiscoveryServiceService, { subscribe: o.config.subscribe });
  server.addService(pb.CertificateServiceService, { createCertificate: o.certificates });
  const creds = ServerCredentials.createSsl(
    Buffer.from(o.rootPem),
    [{ cert_chain: Buffer.from(o.serving.chainPem.join('')), private_key: Buffer.from(o.serving.keyPem) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.host}:${o.port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
