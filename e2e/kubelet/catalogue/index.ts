// The box's image catalogue: one file per image under images/, collected here.
import { ImageCatalogue, type CatalogueEntry } from './catalogue.ts';
import { bookinfo } from './images/bookinfo.ts';
import { ambitGateway, ambitNodeAgent, ambitOperator, ambitWaypoint, ambitZtunnel } from './images/ambit.ts';
import { busybox } from './images/busybox.ts';
import { curl } from './images/curl.ts';
import { echoHttp } from './images/echo-http.ts';
import { echoTcp } from './images/echo-tcp.ts';

export {
  ImageCatalogue,
  containerArgv,
  imageNotFoundMessage,
  type CatalogueEntry,
  type ImageProgram,
  type ResolvedImage,
} from './catalogue.ts';
export { parseImageRef, type ImageRef } from './image-ref.ts';
export { coredns } from './images/coredns.ts';
export { AMBIT_ENTRY_POINTS, AMBIT_IMAGE_REGISTRY, type AmbitComponent } from './images/ambit.ts';
export { nodeProgram, pinnedNode, programPath, repoPath, shellImageProgram } from './program.ts';

/** Every image file's entries; add a file under images/ and one line here. */
const ENTRIES: readonly (() => CatalogueEntry | readonly CatalogueEntry[])[] = [
  busybox,
  curl,
  echoHttp,
  echoTcp,
  bookinfo,
  ambitOperator,
  ambitZtunnel,
  ambitNodeAgent,
  ambitWaypoint,
  ambitGateway,
];

/** The catalogue with every built-in image; extend it with `.with(entry)`. */
export function defaultCatalogue(): ImageCatalogue {
  return new ImageCatalogue(ENTRIES.flatMap((make) => make()));
}
