/**
 * A wall clock a test moves instead of sleeping (`startOwnRuntime({ now: clock.now })`): real
 * time plus every move so far. It only moves forward, as time does.
 */
export function movableClock() {
  let aheadMs = 0;
  return {
    now: () => Date.now() + aheadMs,
    /** Lets `ms` pass at once for the rules that read this clock. */
    move(ms: number) {
      aheadMs += ms;
    },
  };
}
