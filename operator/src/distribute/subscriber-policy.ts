// Who may subscribe to which config (DESIGN §8), from the authenticated caller and its Hello (pure):
//  1. No valid bound token: refused (UNAUTHENTICATED).
//  2. A ztunnel is the ztunnel service account in Ambit's namespace, and may subscribe only as the node its token's
//     pod runs on, never as a node it names.
//  3. A waypoint may subscribe only as itself: `<namespace>/<name>` whose service account (named like its Gateway)
//     is the caller's.
import * as pb from '@ambit/codegen/proto';
import type { AuthenticatedCaller } from '../ca/request-policy.ts';
import { SubscriptionError, type Subscriber } from './config-server.ts';

export interface SubscriberFacts {
  readonly systemNamespace: string;
  readonly ztunnelServiceAccount: string;
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
  if (hello.kind === pb.ProxyKind.PROXY_KIND_WAYPOINT) {
    const [namespace, name, extra] = hello.waypoint.split('/');
    if (!namespace || !name || extra !== undefined) {
      throw new SubscriptionError(
        'ERR_BAD_HELLO',
        `waypoint ${JSON.stringify(hello.waypoint)} is not <namespace>/<name>`,
      );
    }
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
