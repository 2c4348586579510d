/** One EventBridge Scheduler schedule: its rate and the input the target is invoked with. */
export interface LocalSchedule<T> {
  readonly everyMs: number;
  readonly input: T;
}

/**
 * Plays EventBridge Scheduler for one target: each schedule invokes the handler with its input
 * at its rate. A run still going when the next is due is not started twice (a local
 * simplification: Scheduler would invoke again).
 */
export function startSchedules<T>(
  schedules: LocalSchedule<T>[],
  invoke: (input: T) => Promise<unknown>,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const timers = schedules.map(({ everyMs, input }) => {
    let current: Promise<unknown> | undefined;
    return setInterval(() => {
      if (current) return;
      const run = invoke(input)
        .catch(onError)
        .finally(() => {
          current = undefined;
          running.delete(run);
        });
      current = run;
      running.add(run);
    }, everyMs);
  });
  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(running);
    },
  };
}
