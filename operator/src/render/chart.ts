// Turns cdk8s constructs into plain objects: a fresh App and Chart per render (nothing is shared between calls), the
// labels and owner reference every object of the render carries, and a guard that no cdk8s bookkeeping leaks out.
import type { OwnerReference } from '@ambit/codegen/crds';
import { ApiObject, App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { KubeObject } from './contract.ts';
import { RenderError } from './errors.ts';

export interface SynthOptions {
  /** Labels on every object's metadata (not on pod templates). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The controller of every object.
   *
   * @default none: the objects belong to whoever applies them (the install)
   */
  readonly owner?: OwnerReference;
}

/** Builds the constructs `build` adds to a new chart and returns them as JSON. */
export function synth(build: (scope: Construct) => void, options: SynthOptions): KubeObject[] {
  const chart = new Chart(new App(), 'ambit', { labels: { ...options.labels } });
  build(chart);
  if (options.owner) {
    for (const node of chart.node.findAll()) {
      if (ApiObject.isApiObject(node)) node.metadata.addOwnerReference(options.owner);
    }
  }
  // cdk8s serializes what our constructs built: each has apiVersion, kind and an explicit metadata.name.
  const objects = chart.toJson() as KubeObject[];
  for (const object of objects) assertNoCdk8sKeys(object, `${object.kind}/${object.metadata.name}`);
  return objects;
}

/**
 * cdk8s-plus labels pod templates with `cdk8s.io/metadata.addr`; every workload removes it (it would change with
 * the construct path and is not ours to apply). This guards that none survives anywhere.
 */
function assertNoCdk8sKeys(value: unknown, where: string): void {
  if (Array.isArray(value)) {
    for (const item of value) assertNoCdk8sKeys(item, where);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('cdk8s.io/')) {
        throw new RenderError('ERR_RENDER_CDK8S_KEY', `${where}: cdk8s key ${key} in rendered output`);
      }
      assertNoCdk8sKeys(child, where);
    }
  }
}
