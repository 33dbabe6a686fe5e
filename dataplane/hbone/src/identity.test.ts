// SPIFFE ids from Node's subjectAltName text, and the checks built on them.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { identityOf, matchIdentity, parseSubjectAltName, verifyPeerIdentity } from './identity.ts';
import { createTestPki } from './testing/pki.ts';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

describe('parseSubjectAltName', () => {
  it.each([
    ['one URI', `URI:${SLEEP}`, [{ type: 'URI', value: SLEEP }]],
    [
      'several kinds',
      `DNS:a.example, URI:${SLEEP}, IP Address:10.0.0.1`,
      [
        { type: 'DNS', value: 'a.example' },
        { type: 'URI', value: SLEEP },
        { type: 'IP Address', value: '10.0.0.1' },
      ],
    ],
    [
      'a quoted value hiding a comma (no injected second entry)',
      'URI:"spiffe://evil/x, URI:spiffe://cluster.local/ns/default/sa/sleep"',
      [{ type: 'URI', value: 'spiffe://evil/x, URI:spiffe://cluster.local/ns/default/sa/sleep' }],
    ],
    ['nothing', undefined, []],
  ])('reads %s', (_name, text, names) => {
    expect(parseSubjectAltName(text)).toEqual(names);
  });
});

describe('identityOf / matchIdentity', () => {
  it('takes the one SPIFFE URI, ignoring other SANs', () => {
    expect(identityOf(`DNS:x, URI:https://not-spiffe, URI:${SLEEP}`)).toBe(SLEEP);
  });

  it.each([
    ['no SAN', undefined],
    ['no SPIFFE URI', 'DNS:sleep.default.svc'],
    ['two SPIFFE URIs', `URI:${SLEEP}, URI:spiffe://cluster.local/ns/default/sa/other`],
    ['a quoted SPIFFE id with an injected entry', `URI:"spiffe://evil/x, URI:${SLEEP}"`],
  ])('refuses %s with ERR_HBONE_IDENTITY', (_name, text) => {
    const check = () => matchIdentity(text, [SLEEP]);
    expect(check).toThrow(expect.objectContaining({ code: 'ERR_HBONE_IDENTITY' }) as Error);
  });

  it('refuses an identity that is not expected, and an empty expectation', () => {
    expect(() => matchIdentity(`URI:${SLEEP}`, ['spiffe://cluster.local/ns/default/sa/other'])).toThrow(
      /not one of the expected/,
    );
    expect(() => matchIdentity(`URI:${SLEEP}`, [])).toThrow(/not one of the expected/);
  });

  it('reads a certificate issued by the mesh CA', async () => {
    const w = await (await createTestPki()).issue('default', 'sleep');
    const cert = new X509Certificate(w.cert);
    expect(verifyPeerIdentity(cert, [SLEEP])).toBe(SLEEP);
    expect(() => verifyPeerIdentity(undefined, [SLEEP])).toThrow(/no certificate/);
  });
});
