// The control plane's gRPC endpoint (15010): the config stream and the CA on one TLS port whose certificate chains
// to the mesh root (DESIGN §8). Callers authenticate with their bound token, not a client certificate.
//
// The serving certificate changes when the root does (rotation): it comes from an in-memory certificate provider
// (grpc-js `experimental.createCertificateProviderServerCredentials`), and grpc-js puts each new one in the listener
// with `setSecureContext`, so new connections get it and established ones (config subscribers) stay up.
import * as pb from '@ambit/codegen/proto';
import { experimental, Server } from '@grpc/grpc-js';
import type { certificateHandler } from '../ca/certificate-service.ts';
import type { ConfigServer } from '../distribute/config-server.ts';

export interface ServingCertificate {
  /** Leaf first. */
  readonly chainPem: readonly string[];
  readonly keyPem: string;
}

export interface ControlPlaneServerOptions {
  readonly host: string;
  readonly port: number;
  readonly serving: ServingCertificate;
  readonly config: ConfigServer;
  readonly certificates: ReturnType<typeof certificateHandler>;
}

export interface ControlPlaneServer {
  readonly port: number;
  /** Serves new connections with this certificate; open ones keep theirs. */
  setServing(serving: ServingCertificate): void;
  close(): Promise<void>;
}

type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** One identity certificate, replaceable; no CA certificates (callers are not asked for one). */
class ServingCertificateProvider implements experimental.CertificateProvider {
  #latest: experimental.IdentityCertificateUpdate;
  readonly #listeners = new Set<IdentityListener>();

  constructor(serving: ServingCertificate) {
    this.#latest = ServingCertificateProvider.#update(serving);
  }

  static #update(s: ServingCertificate): experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(s.chainPem.join('')), privateKey: Buffer.from(s.keyPem) };
  }

  set(serving: ServingCertificate): void {
    this.#latest = ServingCertificateProvider.#update(serving);
    for (const l of this.#listeners) l(this.#latest);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#listeners.add(listener);
    // Not synchronously: grpc-js registers the server's watcher only after this returns, and a watcher added
    // after the first update would never get it.
    queueMicrotask(() => {
      if (this.#listeners.has(listener)) listener(this.#latest);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#listeners.delete(listener);
  }

  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
}

export async function startControlPlaneServer(o: ControlPlaneServerOptions): Promise<ControlPlaneServer> {
  const server = new Server();
  server.addService(pb.ConfigDiscoveryServiceService, { subscribe: o.config.subscribe });
  server.addService(pb.CertificateServiceService, { createCertificate: o.certificates });
  const provider = new ServingCertificateProvider(o.serving);
  // grpc-js 1.14 names the first parameter `caCertificateProvider` but uses it as the identity provider (its
  // constructor takes identity first); a null second provider means no client certificate is requested.
  const creds = experimental.createCertificateProviderServerCredentials(provider, null, false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.host}:${o.port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    setServing: (serving) => provider.set(serving),
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
