// The CreateCertificate RPC: authenticate the caller, decide whether it may have the identity, then sign.
import type * as pb from '@ambit/codegen/proto';
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { CaError, issueWorkloadCertificate, type SigningCa } from './authority.ts';
import { decideCertificateRequest, type RequestPolicyFacts } from './request-policy.ts';
import { parseSpiffeId, SpiffeError } from './spiffe.ts';
import { bearerToken, type TokenAuthenticator } from './token-review.ts';

export interface CertificateServiceOptions {
  readonly authenticator: TokenAuthenticator;
  readonly facts: RequestPolicyFacts;
  /** The current signing root and trust bundle (rotation swaps them). */
  ca(): { signing: SigningCa; bundle: readonly string[] };
  /** Longest lifetime a caller may ask for; also the default (a function: it may change with the Mesh). */
  readonly maxTtlMs: number | (() => number);
  now(): Date;
  log?(line: string): void;
}

type Call = ServerUnaryCall<pb.CreateCertificateRequest, pb.CreateCertificateResponse>;

function fail(
  callback: sendUnaryData<pb.CreateCertificateResponse>,
  code: GrpcStatus,
  details: string,
): void {
  callback({ code, details, name: 'CertificateError', message: details });
}

export function certificateHandler(opts: CertificateServiceOptions) {
  return (call: Call, callback: sendUnaryData<pb.CreateCertificateResponse>): void => {
    const token = bearerToken(call.metadata);
    void (async () => {
      const caller = await opts.authenticator.authenticate(token);
      if (!caller)
        return fail(callback, GrpcStatus.UNAUTHENTICATED, 'a valid bound service-account token is required');
      const identity = parseSpiffeId(call.request.identity);
      const decision = decideCertificateRequest(caller, identity, opts.facts);
      if (!decision.allowed) {
        opts.log?.(
          `ca: refused ${call.request.identity} to ${caller.namespace}/${caller.serviceAccount}: ${decision.message}`,
        );
        return fail(callback, GrpcStatus.PERMISSION_DENIED, decision.message);
      }
      const maxTtlMs = typeof opts.maxTtlMs === 'number' ? opts.maxTtlMs : opts.maxTtlMs();
      const asked = call.request.ttlSeconds > 0 ? call.request.ttlSeconds * 1000 : maxTtlMs;
      const { signing, bundle } = opts.ca();
      const issued = await issueWorkloadCertificate(signing, {
        csrPem: call.request.csrPem,
        identity,
        ttlMs: Math.min(asked, maxTtlMs),
        now: opts.now(),
      });
      callback(null, { certChainPem: [...issued.chainPem], trustBundlePem: [...bundle] });
    })().catch((err: unknown) => {
      if (err instanceof SpiffeError || err instanceof CaError)
        return fail(callback, GrpcStatus.INVALID_ARGUMENT, err.message);
      opts.log?.(`ca: internal error: ${String(err)}`);
      fail(callback, GrpcStatus.INTERNAL, 'internal error');
    });
  };
}
