// Istio's bookinfo sample, re-made for the box's image catalogue (pure parts): the four services answer what the
// real ones answer (upstream samples/bookinfo/src, Apache-2.0), so Istio's walkthrough and its checks run
// unchanged — productpage's title, "Reviews served by: <pod>", black stars from reviews-v2 and red from
// reviews-v3, none from v1, the `end-user` header of a logged-in user passed on to reviews.

export type BookinfoRole = 'details' | 'ratings' | 'reviews-v1' | 'reviews-v2' | 'reviews-v3' | 'productpage';

export const ROLES: readonly BookinfoRole[] = [
  'details',
  'ratings',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
  'productpage',
];

/**
 * Where a service reaches the others: the real apps' env (`<NAME>_HOSTNAME`, `SERVICES_DOMAIN`, and the port from
 * `<NAME>_SERVICE_PORT`, which Kubernetes' service links set), 9080 by default.
 */
export interface Upstreams {
  readonly details: string;
  readonly reviews: string;
  readonly ratings: string;
}

export function upstreams(env: Readonly<Record<string, string | undefined>>): Upstreams {
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN.replace(/^\./, '')}` : '';
  const url = (name: 'DETAILS' | 'REVIEWS' | 'RATINGS', host: string) =>
    `http://${env[`${name}_HOSTNAME`] ?? host}${domain}:${env[`${name}_SERVICE_PORT`] ?? '9080'}`;
  return {
    details: url('DETAILS', 'details'),
    reviews: url('REVIEWS', 'reviews'),
    ratings: url('RATINGS', 'ratings'),
  };
}

/**
 * Headers the real productpage and reviews pass on to the services they call (tracing, request id, the
 * logged-in user), so routing on `end-user` and traces work as with the real sample.
 */
export const FORWARDED_HEADERS = [
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
  'end-user',
] as const;

export function forwardedHeaders(
  incoming: Readonly<Record<string, string | readonly string[] | undefined>>,
  user: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const v = incoming[name];
    if (typeof v === 'string') out[name] = v;
  }
  if (user !== undefined) out['end-user'] = user;
  return out;
}

export function details(id: number) {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

export function ratings(id: number) {
  return { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
}

const REVIEW_TEXT = {
  Reviewer1: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  Reviewer2:
    'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
} as const;

export interface ReviewsAnswer {
  readonly id: string;
  readonly podname: string;
  readonly clustername: string;
  readonly reviews: readonly {
    reviewer: string;
    text: string;
    rating?: { stars: number; color: string } | { error: string };
  }[];
}

/**
 * The reviews service's answer: v1 shows no stars; v2 black, v3 red, from the ratings answer (or an error entry
 * when ratings could not be reached, as the real one says).
 */
export function reviews(
  version: 'v1' | 'v2' | 'v3',
  id: number,
  podname: string,
  fromRatings: { ratings: Record<string, number> } | undefined,
): ReviewsAnswer {
  const color = version === 'v3' ? 'red' : 'black';
  return {
    id: String(id),
    podname,
    clustername: 'null',
    reviews: (['Reviewer1', 'Reviewer2'] as const).map((reviewer) => ({
      reviewer,
      text: REVIEW_TEXT[reviewer],
      ...(version === 'v1'
        ? {}
        : {
            rating: fromRatings
              ? { stars: fromRatings.ratings[reviewer] ?? 0, color }
              : { error: 'Ratings service is currently unavailable' },
          }),
    })),
  };
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function stars(rating: { stars: number; color: string } | { error: string } | undefined): string {
  if (!rating) return '';
  if ('error' in rating) return `<p><i>${escape(rating.error)}</i></p>`;
  const full = Array.from({ length: rating.stars }, () => '<span class="glyphicon glyphicon-star"></span>');
  const empty = Array.from(
    { length: 5 - rating.stars },
    () => '<span class="glyphicon glyphicon-star-empty"></span>',
  );
  return `<font color="${escape(rating.color)}">${[...full, ...empty].join('\n')}</font>`;
}

/** The product page, with the same landmarks as the real one (title, details, reviews, who served them). */
export function productPage(p: {
  user: string | undefined;
  details: ReturnType<typeof details> | undefined;
  reviews: ReviewsAnswer | undefined;
}): string {
  const detailsHtml = p.details
    ? `<h4 class="text-center text-primary">Book Details</h4>
<dl>
<dt>Type:</dt>${escape(p.details.type)}
<dt>Pages:</dt>${p.details.pages}
<dt>Publisher:</dt>${escape(p.details.publisher)}
<dt>Language:</dt>${escape(p.details.language)}
<dt>ISBN-10:</dt>${escape(p.details['ISBN-10'])}
<dt>ISBN-13:</dt>${escape(p.details['ISBN-13'])}
</dl>`
    : '<h4 class="text-center text-primary">Error fetching product details!</h4>\n<p>Sorry, product details are currently unavailable for this book.</p>';
  const reviewsHtml = p.reviews
    ? `<h4 class="text-center text-primary">Book Reviews</h4>
${p.reviews.reviews
  .map(
    (r) => `<blockquote>
<p>${escape(r.text)}</p>
<small>${escape(r.reviewer)}</small>
${stars(r.rating)}
</blockquote>`,
  )
  .join('\n')}
<dl>
<dt>Reviews served by:</dt>
<u>${escape(p.reviews.podname)}</u>
</dl>`
    : '<h4 class="text-center text-primary">Error fetching product reviews!</h4>\n<p>Sorry, product reviews are currently unavailable for this book.</p>';
  const login = p.user
    ? `<p class="navbar-text navbar-right">Signed in as <b>${escape(p.user)}</b></p>`
    : '<button type="button" class="btn btn-default navbar-btn navbar-right" id="login-modal">Sign in</button>';
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Simple Bookstore App</title>
</head>
<body>
<nav class="navbar navbar-inverse navbar-static-top">
<a class="navbar-brand" href="#">BookInfo Sample</a>
${login}
</nav>
<div class="container-fluid">
<h3 class="text-center text-primary">The Comedy of Errors</h3>
<p>Summary: <a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b> early plays.</p>
<div class="row">
<div class="col-md-6">${detailsHtml}</div>
<div class="col-md-6">${reviewsHtml}</div>
</div>
</div>
</body>
</html>
`;
}

/** The user a session cookie names (the real productpage keeps it in a signed Flask session; ours is plain). */
export function sessionUser(cookie: string | undefined): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'session' && v) {
      const user = decodeURIComponent(v);
      if (/^[A-Za-z0-9._-]{1,64}$/.test(user)) return user;
    }
  }
  return undefined;
}

/** `/details/<id>`, `/ratings/<id>`, `/reviews/<id>`, `/api/v1/products/<id>/…`: the product id, or undefined. */
export function productId(path: string, prefix: string): number | undefined {
  const m = new RegExp(`^${prefix}/(\\d+)(?:/|$)`).exec(path);
  return m ? Number(m[1]) : undefined;
}
