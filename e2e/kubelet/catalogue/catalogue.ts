// The image catalogue: which program stands in for an image, and a container's argv with Kubernetes' rules.
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { KubeletError } from '../errors.ts';
import { parseImageRef, type ImageRef } from './image-ref.ts';

/** What the box runs for an image: its entrypoint and default arguments, as absolute host paths. */
export interface ImageProgram {
  /** The image's ENTRYPOINT; the first element is an absolute path. Used when the container sets no `command`. */
  readonly command: readonly string[];
  /** The image's CMD: the arguments when the container sets neither `command` nor `args`. @default [] */
  readonly defaultArgs?: readonly string[];
  /**
   * How a container `command` runs "inside" this image, which has no filesystem of its own here: the command is
   * appended to this argv (a shell image's shim that finds the Debian binary). Absent: the command runs as given,
   * looked up on the host's PATH. @default undefined
   */
  readonly shim?: readonly string[];
}

/** One catalogue entry: the repositories it answers for (any tag or digest) and its program. */
export interface CatalogueEntry {
  /** References as users write them (`busybox`, `curlimages/curl`); normalised before matching. */
  readonly repositories: readonly string[];
  readonly program: ImageProgram;
  /** One line for listings and error messages. */
  readonly description: string;
}

/** An image the catalogue knows, with what the kubelet reports for it. */
export interface ResolvedImage {
  readonly ref: ImageRef;
  readonly program: ImageProgram;
  /** `containerStatuses[].image`: the normalised reference. */
  readonly image: string;
  /** `containerStatuses[].imageID`: `<repository>@sha256:<hash of the program>`, stable across runs. */
  readonly imageID: string;
}

function checkProgram(p: ImageProgram, what: string): void {
  for (const argv of [p.command, p.shim ?? ['/']]) {
    const first = argv[0];
    if (first === undefined || !isAbsolute(first)) {
      throw new KubeletError(
        'ERR_CATALOGUE_INVALID',
        `${what}: the program must start with an absolute path`,
      );
    }
  }
}

/** Immutable map from repository to program; later entries win on a repository both list. */
export class ImageCatalogue {
  readonly #byRepository: ReadonlyMap<string, CatalogueEntry>;

  constructor(entries: readonly CatalogueEntry[]) {
    const map = new Map<string, CatalogueEntry>();
    for (const e of entries) {
      checkProgram(e.program, e.description);
      for (const r of e.repositories) {
        const ref = parseImageRef(r);
        if (ref === undefined) {
          throw new KubeletError(
            'ERR_CATALOGUE_INVALID',
            `${e.description}: bad repository ${JSON.stringify(r)}`,
          );
        }
        map.set(ref.repository, e);
      }
    }
    this.#byRepository = map;
  }

  /** A new catalogue with `entries` added (overriding repositories they share). */
  with(...entries: readonly CatalogueEntry[]): ImageCatalogue {
    return new ImageCatalogue([...new Set(this.#byRepository.values()), ...entries]);
  }

  /** Every repository the catalogue answers for, sorted. */
  repositories(): string[] {
    return [...this.#byRepository.keys()].sort();
  }

  /** The program for an image reference (any tag or digest of a known repository), or undefined. */
  resolve(image: string): ResolvedImage | undefined {
    const ref = parseImageRef(image);
    if (ref === undefined) return undefined;
    const entry = this.#byRepository.get(ref.repository);
    if (entry === undefined) return undefined;
    const hash = createHash('sha256').update(JSON.stringify(entry.program)).digest('hex');
    return {
      ref,
      program: entry.program,
      image: ref.normalized,
      imageID: `${ref.repository}@sha256:${hash}`,
    };
  }

  /** Like resolve, but an unknown image throws ERR_IMAGE_NOT_IN_CATALOGUE naming it and what is known. */
  require(image: string): ResolvedImage {
    const found = this.resolve(image);
    if (found !== undefined) return found;
    throw new KubeletError('ERR_IMAGE_NOT_IN_CATALOGUE', imageNotFoundMessage(image, this));
  }
}

/** The pull error text, in containerd's words where they fit. */
export function imageNotFoundMessage(image: string, catalogue: ImageCatalogue): string {
  const ref = parseImageRef(image);
  const what = ref === undefined ? 'is not a valid image reference' : `is not in the box's image catalogue`;
  return (
    `failed to pull and unpack image "${ref?.normalized ?? image}": image ${JSON.stringify(image)} ${what} ` +
    `(known: ${catalogue.repositories().join(', ')})`
  );
}

/** `$` written literally through the kubelet's `$(VAR)` expansion (`$$` is an escaped `$`). */
function literal(s: string): string {
  return s.replace(/\$/g, '$$$$');
}

/**
 * The container's command and args for startContainer, before `$(VAR)` expansion (Kubernetes "Define a command
 * and arguments"): only the container's own strings are expanded, the image's are passed through literally.
 * 1. `command` set: it replaces the entrypoint and the default args; it runs through the image's shim if any, and
 *    `args` (or nothing) follows it.
 * 2. only `args` set: the entrypoint with those args.
 * 3. neither: the entrypoint with the default args.
 */
export function containerArgv(
  program: ImageProgram,
  container: { readonly command?: readonly string[]; readonly args?: readonly string[] },
): { command: string[]; args: string[] } {
  const command = container.command ?? [];
  const args = container.args ?? [];
  if (command.length > 0)
    return { command: [...(program.shim ?? []).map(literal), ...command], args: [...args] };
  return {
    command: program.command.map(literal),
    args: args.length > 0 ? [...args] : (program.defaultArgs ?? []).map(literal),
  };
}
