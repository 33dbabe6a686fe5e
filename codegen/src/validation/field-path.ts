// Turns ajv error locations into Kubernetes field paths (`spec.rules[0].from`), the form kubectl prints.

/** `/spec/rules/0/from` -> `spec.rules[0].from`. */
export function fieldPathFromPointer(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Appends a CEL `fieldPath` (`.a.b`, `['x']`, `[0]`) or a child name to a field path. */
export function joinFieldPath(base: string, suffix: string): string {
  if (suffix === '') return base;
  if (suffix.startsWith('.')) return base === '' ? suffix.slice(1) : base + suffix;
  if (suffix.startsWith('[')) return base + suffix;
  return base === '' ? suffix : `${base}.${suffix}`;
}
