// Pure timestamp formats of the Kubernetes API: metav1.Time (seconds) and metav1.MicroTime (microseconds).

/** `2006-01-02T15:04:05Z`: what metav1.Time serialises to (the apiserver drops sub-seconds anyway). */
export function apiTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `2006-01-02T15:04:05.000000Z`: metav1.MicroTime needs exactly six fractional digits (Lease renewTime). */
export function microTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = String(Math.round((epochMs - whole) * 1000)).padStart(3, '0');
  return new Date(whole).toISOString().replace(/\.(\d{3})Z$/, `.$1${micros}Z`);
}
