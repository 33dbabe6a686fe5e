// Kubernetes' `$(VAR)` expansion for env values, command and args (k8s third_party/forked/golang/expansion).

/** Looks a name up; undefined means "leave the reference as written". */
export type Lookup = (name: string) => string | undefined;

/**
 * Expands `$(NAME)` references: a defined name is replaced, an undefined one is kept verbatim, `$$` is an escaped `$`
 * (so `$$(NAME)` yields `$(NAME)`), and a `$` not followed by `(` or `$` is kept, as is an unterminated `$(`.
 */
export function expand(input: string, lookup: Lookup): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close === -1) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next ?? ''}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
