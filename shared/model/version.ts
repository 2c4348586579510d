/**
 * Hybrid logical clock. A version is `wallMs * 1000 + counter`: it reads as a time, it
 * grows even when the wall clock stands still or goes back, and `observe` lifts the clock
 * above any version this server has seen (R8), so a re-created item outranks its tombstone.
 */
export class HybridClock {
  private last = 0;

  constructor(private readonly wallMs: () => number = Date.now) {}

  /** A version greater than every version issued or observed, and than `after`. */
  next(after = 0): number {
    this.last = Math.max(this.wallMs() * 1000, this.last + 1, after + 1);
    return this.last;
  }

  observe(version: number): void {
    this.last = Math.max(this.last, version);
  }
}

/** The wall-clock milliseconds a version was issued at. */
export const versionTimeMs = (version: number) => Math.floor(version / 1000);
