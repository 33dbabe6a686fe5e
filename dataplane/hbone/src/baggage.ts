// W3C baggage (https://www.w3.org/TR/baggage/) as data: the pure parser for a CONNECT's `baggage` header. A header it
// cannot read whole is ignored whole (undefined): a reader never throws on what a peer sent, and never acts on half
// of it. The values are the peer's word, not a proof; what a caller may trust them for is the caller's decision.
//
//   baggage-string = list-member *( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//   property       = key OWS "=" OWS value / key OWS
//   key            = token (RFC 9110); value = *baggage-octet, percent-encoded UTF-8 beyond them

/** W3C §3.3.1 limits: a baggage-string of at most 8,192 bytes and 64 list-members. Anything longer is ignored. */
export const MAX_BAGGAGE_LENGTH = 8192;
export const MAX_BAGGAGE_MEMBERS = 64;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** baggage-octet: printable US-ASCII except `"`, `,`, `;`, `\` and space (`%` starts a percent-escape). */
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
/** OWS: spaces and horizontal tabs only. */
const OWS = /^[ \t]+|[ \t]+$/g;

const trimOws = (s: string): string => s.replace(OWS, '');

/** `key = value` with OWS around both; undefined when either is malformed. The value is still encoded. */
function keyValue(s: string): { key: string; value: string } | undefined {
  const eq = s.indexOf('=');
  if (eq < 0) return undefined;
  const key = trimOws(s.slice(0, eq));
  const value = trimOws(s.slice(eq + 1));
  return TOKEN.test(key) && VALUE.test(value) ? { key, value } : undefined;
}

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined; // a `%` not followed by two hex digits, or escapes that are not UTF-8
  }
}

/**
 * The list-members of a `baggage` header, key → percent-decoded value (properties are checked and dropped).
 * Undefined, meaning "ignore the header", when it is longer than MAX_BAGGAGE_LENGTH, has more than
 * MAX_BAGGAGE_MEMBERS members, has a member or property that does not parse, a value that is not valid
 * percent-encoded UTF-8, or the same key twice (no member may silently win over another). Empty members (`a=1,,b=2`)
 * are skipped. An absent header is an empty map. Decoded values may hold any character: callers validate them.
 */
export function parseBaggage(header: string | undefined): ReadonlyMap<string, string> | undefined {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  if (header.length > MAX_BAGGAGE_LENGTH) return undefined;
  const members = header.split(',');
  let count = 0;
  for (const raw of members) {
    if (trimOws(raw) === '') continue;
    if (++count > MAX_BAGGAGE_MEMBERS) return undefined;
    const [member = '', ...properties] = raw.split(';');
    const kv = keyValue(member);
    if (!kv || out.has(kv.key)) return undefined;
    for (const p of properties) {
      const bare = trimOws(p);
      if (!(p.includes('=') ? keyValue(p) : TOKEN.test(bare))) return undefined;
    }
    const value = decode(kv.value);
    if (value === undefined) return undefined;
    out.set(kv.key, value);
  }
  return out;
}
