// Kubernetes label-selector semantics (matchLabels AND matchExpressions), for the Mesh's allowed-namespaces rule.

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string | undefined>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }[];
}

/** An empty selector matches everything, as in Kubernetes. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  return (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key] ?? '');
      case 'NotIn':
        return !has || !values.includes(labels[e.key] ?? '');
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
}
