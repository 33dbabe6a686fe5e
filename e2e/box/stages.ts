// Times the stages of a box start (or stop) and reports each as one progress line.

export interface StageTiming {
  readonly stage: string;
  readonly ms: number;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export class StageClock {
  readonly timings: StageTiming[] = [];
  readonly #progress: (line: string) => void;

  constructor(progress: (line: string) => void) {
    this.#progress = progress;
  }

  /** Runs `work`, records its duration under `stage` and reports `stage: <detail> (<s>)`. */
  async run<T>(stage: string, work: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
    const t = performance.now();
    const result = await work();
    const ms = Math.round(performance.now() - t);
    this.timings.push({ stage, ms });
    const said = detail?.(result);
    this.#progress(`${stage}${said ? `: ${said}` : ''} (${seconds(ms)})`);
    return result;
  }
}
