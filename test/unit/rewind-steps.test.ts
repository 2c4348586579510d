import { describe, expect, it } from "vitest";
import { type RewindView, rewindAll } from "../../bin/commands/history.ts";

// `rewind --apply` (R26): a rewind too big for one answer (the admin API's 29 s) answers what is
// left, and the CLI posts the same rewind again until nothing is.
describe("a rewind in steps", () => {
  it("goes on while something remains, and adds up what each call wrote and kept", async () => {
    const plan = { at: "2026-12-08T00:00:00.000Z", dryRun: false, added: ["domain"], removed: [] };
    const answers: RewindView[] = [
      { ...plan, changed: [], applied: 1000, skipped: [], remaining: 1500 },
      { ...plan, changed: [], applied: 999, skipped: ["user:x"], remaining: 500 },
      { ...plan, changed: [], applied: 500, skipped: [], remaining: 0 },
    ];
    let calls = 0;
    const left: number[] = [];
    const done = await rewindAll(
      async () => {
        const answer = answers[calls++];
        if (!answer) throw new Error("posted once too often");
        return { ...answer };
      },
      (count) => left.push(count),
    );
    expect(calls).toBe(3);
    expect(left).toEqual([1500, 500]);
    expect(done).toMatchObject({ applied: 2499, skipped: ["user:x"], remaining: 0 });
  });

  it("posts once when the first answer has nothing left", async () => {
    let calls = 0;
    await rewindAll(
      async () => {
        calls += 1;
        return { at: "", dryRun: false, added: [], removed: [], changed: [], applied: 3 };
      },
      () => {},
    );
    expect(calls).toBe(1);
  });
});
