import { UsageError } from "../context.ts";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration as the CLI's options take it — `500ms`, `30s`, `2m`, `2h`, `1d`, or bare seconds —
 * in milliseconds; undefined when it is not one. `failover wait --timeout` and the moments of
 * `history`, `snapshot` and `rewind` (a time ago) read it here.
 */
export function durationMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? "s") as keyof typeof UNIT_MS]);
}

/**
 * A moment given as an ISO time (passed on as written: the server checks it and names `at`, or
 * `since`, in its answer) or as a time ago (`10m`: ten minutes before now, on this machine's
 * clock), as the ISO time the API takes; a UsageError naming `option` otherwise.
 */
export function momentOf(value: string, option: string, now = Date.now()): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(value.trim())) return value.trim();
  const ago = durationMs(value);
  if (ago === undefined)
    throw new UsageError(
      `${option} is an ISO time (2026-12-08T09:30:00Z) or a time ago (30s, 10m, 2h, 1d), not ${value}`,
    );
  return new Date(now - ago).toISOString();
}
