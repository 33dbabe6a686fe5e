// The bookinfo images (Istio's sample): `bookinfo.ts <role>` serves details, ratings, reviews-v1/v2/v3 or
// productpage on 9080 (PORT overrides), calling the others as the real ones do (bookinfo-lib.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import {
  details,
  forwardedHeaders,
  productId,
  productPage,
  ratings,
  reviews,
  ROLES,
  sessionUser,
  upstreams,
  type BookinfoRole,
  type ReviewsAnswer,
} from './bookinfo-lib.ts';

const role = process.argv[2] as BookinfoRole | undefined;
if (!role || !ROLES.includes(role)) {
  console.error(`usage: bookinfo.ts <${ROLES.join('|')}>`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 9080);
const podname = process.env.HOSTNAME ?? hostname();
const up = upstreams(process.env);
/** How long a call to another service may take before the page says it is unavailable. */
const CALL_TIMEOUT_MS = 2500;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function call<T>(url: string, headers: Record<string, string>): Promise<T | undefined> {
  try {
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    if (!r.ok) {
      console.log(`GET ${url}: ${r.status}`);
      return undefined;
    }
    return (await r.json()) as T;
  } catch (err) {
    console.log(`GET ${url}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (body.length < 16_384) body += c;
    });
    req.on('end', () => resolve(body));
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/health') return json(res, 200, { status: `${role} is healthy` });
  const user =
    sessionUser(req.headers.cookie) ??
    (typeof req.headers['end-user'] === 'string' ? req.headers['end-user'] : undefined);
  const headers = forwardedHeaders(req.headers, user);
  switch (role) {
    case 'details': {
      const id = productId(path, '/details');
      return id === undefined
        ? json(res, 400, { error: 'please provide numeric product id' })
        : json(res, 200, details(id));
    }
    case 'ratings': {
      const id = productId(path, '/ratings');
      return id === undefined
        ? json(res, 400, { error: 'please provide numeric product id' })
        : json(res, 200, ratings(id));
    }
    case 'reviews-v1':
    case 'reviews-v2':
    case 'reviews-v3': {
      const id = productId(path, '/reviews');
      if (id === undefined) return json(res, 400, { error: 'please provide numeric product id' });
      const version = role.slice('reviews-'.length) as 'v1' | 'v2' | 'v3';
      const rated =
        version === 'v1'
          ? undefined
          : await call<{ ratings: Record<string, number> }>(`${up.ratings}/ratings/${id}`, headers);
      return json(res, 200, reviews(version, id, podname, rated));
    }
    case 'productpage':
      return productpage(req, res, path, user, headers);
  }
}

async function productpage(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  user: string | undefined,
  headers: Record<string, string>,
): Promise<void> {
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      '<!DOCTYPE html><html><head><title>Simple Bookstore App</title></head><body><a href="/productpage?u=normal">Normal user</a></body></html>\n',
    );
    return;
  }
  if (path === '/login' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const name = form.get('username') ?? '';
    const valid = sessionUser(`session=${encodeURIComponent(name)}`);
    res.writeHead(302, {
      location: '/productpage',
      ...(valid ? { 'set-cookie': `session=${encodeURIComponent(valid)}; Path=/; HttpOnly` } : {}),
    });
    res.end();
    return;
  }
  if (path === '/logout') {
    res.writeHead(302, { location: '/productpage', 'set-cookie': 'session=; Path=/; Max-Age=0' });
    res.end();
    return;
  }
  if (path === '/productpage') {
    const [d, r] = await Promise.all([
      call<ReturnType<typeof details>>(`${up.details}/details/0`, headers),
      call<ReviewsAnswer>(`${up.reviews}/reviews/0`, headers),
    ]);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(productPage({ user, details: d, reviews: r }));
    return;
  }
  if (path === '/api/v1/products') {
    return json(res, 200, [{ id: 0, title: 'The Comedy of Errors', descriptionHtml: 'Shakespeare' }]);
  }
  const id = productId(path, '/api/v1/products');
  if (id !== undefined) {
    if (path.endsWith('/reviews')) {
      const r = await call<ReviewsAnswer>(`${up.reviews}/reviews/${id}`, headers);
      return r
        ? json(res, 200, r)
        : json(res, 503, { error: 'Sorry, product reviews are currently unavailable for this book.' });
    }
    if (path.endsWith('/ratings')) {
      const r = await call<unknown>(`${up.ratings}/ratings/${id}`, headers);
      return r
        ? json(res, 200, r)
        : json(res, 503, { error: 'Sorry, product ratings are currently unavailable for this book.' });
    }
    const d = await call<unknown>(`${up.details}/details/${id}`, headers);
    return d
      ? json(res, 200, d)
      : json(res, 503, { error: 'Sorry, product details are currently unavailable for this book.' });
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    console.error(
      `${req.method ?? 'GET'} ${req.url ?? '/'}: ${err instanceof Error ? err.stack : String(err)}`,
    );
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.listen(port, () => console.log(`bookinfo ${role} listening on ${port} (pod ${podname})`));

/** Graceful stop, as a pod's SIGTERM asks. */
function shutdown(signal: string): void {
  console.log(`bookinfo ${role} got ${signal}, exiting`);
  server.close();
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 100).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
