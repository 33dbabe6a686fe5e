// Certificates from the control plane's CertificateService: a fresh key and CSR per request, the bound
// service-account token as the bearer (the CA checks the identity is of a pod on this ztunnel's node).
import 'reflect-metadata';
import type * as pb from '@ambit/codegen/proto';
import { Metadata } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import type { CertificateSource, WorkloadCertificate } from './cert-manager.ts';
import { createKeyAndCsr } from './csr.ts';

export interface CaClientOptions {
  readonly client: pb.CertificateServiceClient;
  /** The token, read fresh for every request (it rotates). */
  token(): Promise<string>;
  /** Lifetime to ask for; the CA may give less. @default 24 h */
  readonly ttlSeconds?: number;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

export class CaClient implements CertificateSource {
  readonly #o: CaClientOptions;

  constructor(o: CaClientOptions) {
    this.#o = o;
  }

  async fetch(identity: string): Promise<WorkloadCertificate> {
    const { keyPem, csrPem } = await createKeyAndCsr(identity);
    const md = new Metadata();
    md.set('authorization', `Bearer ${await this.#o.token()}`);
    const res = await new Promise<pb.CreateCertificateResponse>((resolve, reject) => {
      this.#o.client.createCertificate(
        { csrPem, identity, ttlSeconds: this.#o.ttlSeconds ?? 86_400 },
        md,
        { deadline: Date.now() + (this.#o.timeoutMs ?? 10_000) },
        (err, r) =>
          err ? reject(new Error(`certificate for ${identity}: ${err.details || err.message}`)) : resolve(r),
      );
    });
    const leafPem = res.certChainPem[0];
    if (!leafPem) throw new Error(`certificate for ${identity}: the CA returned an empty chain`);
    const leaf = new x509.X509Certificate(leafPem);
    return {
      identity,
      chainPem: res.certChainPem,
      keyPem,
      trustBundlePem: res.trustBundlePem,
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
    };
  }
}
