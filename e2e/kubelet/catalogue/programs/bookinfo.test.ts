// The bookinfo stand-ins: the pure answers, and the four services as processes on loopback calling each other
// as in the real sample (productpage → details, reviews → ratings).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../testing/index.ts';
import { pinnedNode, programPath } from '../program.ts';
import { forwardedHeaders, productId, reviews, sessionUser, upstreams } from './bookinfo-lib.ts';

describe('bookinfo answers', () => {
  it('stars: none from v1, black from v2, red from v3, an error when ratings are away', () => {
    const r = { ratings: { Reviewer1: 5, Reviewer2: 4 } };
    expect(reviews('v1', 0, 'p', r).reviews.map((x) => x.rating)).toEqual([undefined, undefined]);
    expect(reviews('v2', 0, 'p', r).reviews.map((x) => x.rating)).toEqual([
      { stars: 5, color: 'black' },
      { stars: 4, color: 'black' },
    ]);
    expect(reviews('v3', 0, 'p', r).reviews[0]?.rating).toEqual({ stars: 5, color: 'red' });
    expect(reviews('v2', 0, 'p', undefined).reviews[0]?.rating).toEqual({
      error: 'Ratings service is currently unavailable',
    });
  });

  it('passes on tracing headers and the logged-in user, and nothing else', () => {
    expect(
      forwardedHeaders(
        { traceparent: '00-a-b-01', 'x-request-id': 'r', host: 'x', 'x-secret': 's' },
        'jason',
      ),
    ).toEqual({ traceparent: '00-a-b-01', 'x-request-id': 'r', 'end-user': 'jason' });
    expect(sessionUser('a=1; session=jason')).toBe('jason');
    expect(sessionUser('session=%3Cscript%3E')).toBeUndefined();
  });

  it('finds services by the real env names and parses product ids', () => {
    expect(upstreams({})).toEqual({
      details: 'http://details:9080',
      reviews: 'http://reviews:9080',
      ratings: 'http://ratings:9080',
    });
    expect(
      upstreams({ SERVICES_DOMAIN: 'bookinfo.svc.cluster.local', RATINGS_SERVICE_PORT: '9999' }).ratings,
    ).toBe('http://ratings.bookinfo.svc.cluster.local:9999');
    expect(productId('/reviews/7', '/reviews')).toBe(7);
    expect(productId('/reviews/x', '/reviews')).toBeUndefined();
  });
});

describe('bookinfo as processes on loopback', () => {
  const children: ChildProcess[] = [];
  const ports: Record<string, number> = {};

  function start(role: string, env: Record<string, string>): Promise<void> {
    const child = spawn(pinnedNode(), [programPath('bookinfo.ts'), role], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${role} exited ${String(code)}: ${out}`)));
    });
  }

  beforeAll(async () => {
    for (const r of ['details', 'ratings', 'reviews', 'productpage']) ports[r] = await freePort();
    const env = {
      DETAILS_HOSTNAME: '127.0.0.1',
      REVIEWS_HOSTNAME: '127.0.0.1',
      RATINGS_HOSTNAME: '127.0.0.1',
      DETAILS_SERVICE_PORT: String(ports.details),
      REVIEWS_SERVICE_PORT: String(ports.reviews),
      RATINGS_SERVICE_PORT: String(ports.ratings),
    };
    await Promise.all([
      start('details', { ...env, PORT: String(ports.details) }),
      start('ratings', { ...env, PORT: String(ports.ratings) }),
      start('reviews-v3', { ...env, PORT: String(ports.reviews), HOSTNAME: 'reviews-v3-abc12' }),
      start('productpage', { ...env, PORT: String(ports.productpage) }),
    ]);
  }, 30_000);

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('serves the product page with details and red stars from reviews-v3, naming the pod', async () => {
    const page = await (await fetch(`http://127.0.0.1:${ports.productpage}/productpage`)).text();
    expect(page).toContain('<title>Simple Bookstore App</title>');
    expect(page).toContain('<dt>ISBN-10:</dt>1234567890');
    expect(page).toContain('<u>reviews-v3-abc12</u>');
    expect(page.match(/<font color="red">/g)).toHaveLength(2);
  });

  it('signs a user in and shows it, and answers the JSON API', async () => {
    const login = await fetch(`http://127.0.0.1:${ports.productpage}/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'jason', passwd: 'x' }),
      redirect: 'manual',
    });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    const page = await (
      await fetch(`http://127.0.0.1:${ports.productpage}/productpage`, { headers: { cookie } })
    ).text();
    expect(page).toContain('Signed in as <b>jason</b>');
    const ratings = await (
      await fetch(`http://127.0.0.1:${ports.productpage}/api/v1/products/0/ratings`)
    ).json();
    expect(ratings).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
  });

  it('says details are unavailable when the details service is away, and keeps serving', async () => {
    children[0]?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const page = await (await fetch(`http://127.0.0.1:${ports.productpage}/productpage`)).text();
    expect(page).toContain('Sorry, product details are currently unavailable for this book.');
    expect(page).toContain('<u>reviews-v3-abc12</u>');
  });
});
