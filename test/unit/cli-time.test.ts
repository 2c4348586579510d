import { describe, expect, it } from "vitest";
import { durationMs, momentOf } from "../../bin/commands/time.ts";
import { UsageError } from "../../bin/context.ts";

describe("the CLI's durations and moments (one parser: --timeout, --at, --since, --until)", () => {
  it("reads ms, s, m, h, d and bare seconds; nothing else", () => {
    expect(["500ms", "30s", "2m", "2h", "1d", "1.5", " 10m "].map(durationMs)).toEqual([
      500, 30_000, 120_000, 7_200_000, 86_400_000, 1500, 600_000,
    ]);
    for (const wrong of ["", "-1s", "1w", "10 m", "1e3", "s"])
      expect(durationMs(wrong)).toBeUndefined();
  });

  it("a moment: an ISO time passed on as written, a time ago from now, or a usage error naming the option", () => {
    const now = Date.parse("2026-12-08T10:00:00Z");
    expect(momentOf("2026-12-08T09:30:00+01:00", "--at", now)).toBe("2026-12-08T09:30:00+01:00");
    expect(momentOf("2026-13-99T99:00", "--at", now)).toBe("2026-13-99T99:00"); // the server names it
    expect(momentOf("10m", "--at", now)).toBe("2026-12-08T09:50:00.000Z");
    expect(momentOf("1d", "--since", now)).toBe("2026-12-07T10:00:00.000Z");
    expect(() => momentOf("yesterday", "--since", now)).toThrow(UsageError);
    expect(() => momentOf("yesterday", "--since", now)).toThrow(/^--since is an ISO time/);
  });
});
