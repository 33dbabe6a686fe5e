// Unit tests: image references normalised as containerd does.
import { describe, expect, it } from 'vitest';
import { parseImageRef } from './image-ref.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['curlimages/curl:8.16.0', 'docker.io/curlimages/curl', 'docker.io/curlimages/curl:8.16.0'],
    ['docker.io/curlimages/curl', 'docker.io/curlimages/curl', 'docker.io/curlimages/curl:latest'],
    ['localhost/app', 'localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app', 'localhost:5000/app:v1'],
    [
      'registry.istio.io/release/examples-bookinfo-details-v1:1.20.3',
      'registry.istio.io/release/examples-bookinfo-details-v1',
      'registry.istio.io/release/examples-bookinfo-details-v1:1.20.3',
    ],
    [`busybox@${DIGEST}`, 'docker.io/library/busybox', `docker.io/library/busybox@${DIGEST}`],
    [`busybox:1.36@${DIGEST}`, 'docker.io/library/busybox', `docker.io/library/busybox:1.36@${DIGEST}`],
  ])('%s → %s', (input, repository, normalized) => {
    expect(parseImageRef(input)).toMatchObject({ repository, normalized });
  });

  it('keeps tag and digest apart', () => {
    expect(parseImageRef(`busybox@${DIGEST}`)).toMatchObject({ tag: undefined, digest: DIGEST });
    expect(parseImageRef('busybox:1.36')).toMatchObject({ tag: '1.36', digest: undefined });
  });

  it.each(['', ' ', 'a b', 'busybox:', 'busybox@sha256:xyz', '/busybox', 'a//b', 'busybox:bad/tag'])(
    'rejects %j',
    (input) => {
      expect(parseImageRef(input)).toBeUndefined();
    },
  );
});
