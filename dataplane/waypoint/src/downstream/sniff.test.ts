import { duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classify, sniff } from './sniff.ts';

describe('classify', () => {
  it.each([
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2'],
    ['PRI * HTTP/2', undefined],
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['DELETE /x HTTP/1.1', 'http1'],
    ['DEL', undefined],
    ['\x16\x03\x01', 'other'],
    ['SSH-2.0-OpenSSH', 'other'],
  ] as const)('%j → %s', (bytes, verdict) => {
    expect(classify(Buffer.from(bytes, 'latin1'))).toBe(verdict);
  });
});

describe('sniff', () => {
  it('decides across chunks and leaves every byte readable', async () => {
    const [a, b] = duplexPair();
    const verdict = sniff(b);
    a.write('PO');
    a.write('ST /submit HTTP/1.1\r\n');
    expect(await verdict).toBe('http1');
    expect((b.read() as Buffer).toString()).toBe('POST /submit HTTP/1.1\r\n');
  });

  it('calls a silent caller `other` after the detection timeout', async () => {
    const [, b] = duplexPair();
    expect(await sniff(b, 20)).toBe('other');
  });
});
