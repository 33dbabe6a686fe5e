// registry.k8s.io/coredns/coredns: the real CoreDNS binary (built by e2e/components/build.sh), its own entrypoint.
import type { CatalogueEntry } from '../catalogue.ts';

/**
 * The image's ENTRYPOINT is `/coredns` with no CMD, so the pod spec's `args` (`-conf /etc/coredns/Corefile`)
 * follow the binary directly. Not in the default list: the binary has to be built (or found) first, which is
 * asynchronous, so whoever found it (the box) adds this entry with `.with(coredns(bin))`.
 */
export const coredns = (bin: string): CatalogueEntry => ({
  repositories: ['registry.k8s.io/coredns/coredns', 'coredns/coredns'],
  program: { command: [bin] },
  description: `registry.k8s.io/coredns/coredns (the real CoreDNS, ${bin})`,
});
