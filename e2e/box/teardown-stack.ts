// Undo steps pushed as a box comes up and run in reverse when it goes down, each once, continuing past failures.

interface Step {
  readonly name: string;
  readonly undo: () => Promise<unknown>;
}

export class TeardownStack {
  #steps: Step[] = [];

  /** Registers the undo of something just brought up. */
  push(name: string, undo: () => Promise<unknown>): void {
    this.#steps.push({ name, undo });
  }

  get size(): number {
    return this.#steps.length;
  }

  /**
   * Runs every step, last pushed first, and empties the stack; a failing step does not stop the others. Returns
   * the failures, each naming its step.
   */
  async unwind(onStep?: (name: string, ms: number) => void): Promise<Error[]> {
    const steps = this.#steps.reverse();
    this.#steps = [];
    const failures: Error[] = [];
    for (const step of steps) {
      const t = performance.now();
      try {
        await step.undo();
      } catch (err) {
        failures.push(new Error(`${step.name}: ${(err as Error).message}`, { cause: err }));
      }
      onStep?.(step.name, performance.now() - t);
    }
    return failures;
  }
}
