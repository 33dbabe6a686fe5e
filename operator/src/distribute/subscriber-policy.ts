// Who may subscribe to which config (DESIGN §8), from the authenticated caller and its Hello (pure):
//  1. No valid bound token: refused (UNAUTHENTICATED).
//  2. A ztunnel is the ztunnel service account in Ambit's namespace, and may subscribe only as the node its token's
//     pod runs on, never as a node it names.
//  3. A waypoint may subscribe only as itself: `<namespace>/<name>` whose service account (named like its Gateway)
//     is the caller's.
//  4. An ingress gateway likewise, as the Gateway whose proxy service account `<name>-<class>` is the caller's
//     (Istio's naming); a Gateway that is not an ingress Gateway of ours admits nobody.
import * as pb from '@ambit/codegen/proto';
import type { AuthenticatedCaller } from '../ca/request-policy.ts';
import { SubscriptionError, type Subscriber } from './config-server.ts';

export interface SubscriberFacts {
  readonly systemNamespace: string;
  readonly ztunnelServiceAccount: string;
  /** The class of an ingress Gateway of ours (`ambit`, `istio`), or undefined. @default none */
  ingressClass?(namespace: string, name: string): string | undefined;
}

function gatewayRef(field: string, value: string): { namespace: string; name: string } {
  const [namespace, name, extra] = value.split('/');
  if (!namespace || !name || extra !== undefined)
    throw new SubscriptionError(
      'ERR_BAD_HELLO',
      `${field} ${JSON.stringify(value)} is not <namespace>/<name>`,
    );
  return { namespace, name };
}

export function decideSubscriber(
  caller: AuthenticatedCaller | undefined,
  hello: pb.Hello,
  facts: SubscriberFacts,
): Subscriber {
  if (!caller)
    throw new SubscriptionError('ERR_UNAUTHENTICATED', 'a valid bound service-account token is required');
  const who = `${caller.namespace}/${caller.serviceAccount}`;
  if (hello.kind === pb.ProxyKind.PROXY_KIND_ZTUNNEL) {
    if (caller.namespace !== facts.systemNamespace || caller.serviceAccount !== facts.ztunnelServiceAccount) {
      throw new SubscriptionError('ERR_PERMISSION_DENIED', `${who} is not a ztunnel`);
    }
    if (!caller.node)
      throw new SubscriptionError('ERR_PERMISSION_DENIED', 'ztunnel token is not bound to a pod on a node');
    if (hello.node !== caller.node) {
      throw new SubscriptionError(
        'ERR_PERMISSION_DENIED',
        `a ztunnel on node ${caller.node} may not subscribe as node ${JSON.stringify(hello.node)}`,
      );
    }
    return { kind: 'ztunnel', name: caller.node };
  }
  if (hello.kind === pb.ProxyKind.PROXY_KIND_GATEWAY) {
    const { namespace, name } = gatewayRef('gateway', hello.gateway);
    const cls = facts.ingressClass?.(namespace, name);
    if (cls === undefined) {
      throw new SubscriptionError(
        'ERR_PERMISSION_DENIED',
        `${hello.gateway} is not an ingress Gateway of Ambit's classes`,
      );
    }
    if (caller.namespace !== namespace || caller.serviceAccount !== `${name}-${cls}`) {
      throw new SubscriptionError(
        'ERR_PERMISSION_DENIED',
        `${who} may not subscribe as gateway ${hello.gateway}`,
      );
    }
    return { kind: 'gateway', name: hello.gateway };
  }
  if (hello.kind === pb.ProxyKind.PROXY_KIND_WAYPOINT) {
    const { namespace, name } = gatewayRef('waypoint', hello.waypoint);
    if (caller.namespace !== namespace || caller.serviceAccount !== name) {
      throw new SubscriptionError(
        'ERR_PERMISSION_DENIED',
        `${who} may not subscribe as waypoint ${hello.waypoint}`,
      );
    }
    return { kind: 'waypoint', name: hello.waypoint };
  }
  throw new SubscriptionError('ERR_BAD_HELLO', `unknown proxy kind ${String(hello.kind)}`);
}
