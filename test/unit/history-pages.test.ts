import { describe, expect, it } from "vitest";
import { type ChangeView, changesUpTo } from "../../bin/commands/history.ts";

// `history --limit N` follows the API's cursors (R26): pages of at most 1000, up to N changes.
const CHANGES: ChangeView[] = Array.from({ length: 2500 }, (_, index) => ({
  at: new Date(Date.UTC(2026, 11, 8) - index * 1000).toISOString(),
  domain: "acme",
  id: `user:u${index}`,
  op: "put",
  version: 1,
  origin: "p",
  fields: [],
}));

/** The history route as a function of its query: `cap` is the most it answers at once. */
function server(cap = 1000) {
  const asked: Record<string, string>[] = [];
  const read = async (path: string) => {
    const query = new URL(path, "http://x").searchParams;
    asked.push(Object.fromEntries(query));
    const from = Number(query.get("cursor") ?? 0);
    const to = Math.min(from + Math.min(cap, Number(query.get("limit"))), CHANGES.length);
    return { items: CHANGES.slice(from, to), cursor: to < CHANGES.length ? String(to) : null };
  };
  return { read, asked };
}

describe("history's pages", () => {
  it("follows cursors until --limit, asking no more than it still needs", async () => {
    const { read, asked } = server();
    const { items, cursor } = await changesUpTo(
      read,
      new URLSearchParams({ domain: "acme" }),
      2100,
    );

    expect(items.map((change) => change.id)).toEqual(CHANGES.slice(0, 2100).map((c) => c.id));
    expect(cursor).toBe("2100");
    expect(asked.map(({ limit, cursor }) => [limit, cursor])).toEqual([
      ["1000", undefined],
      ["1000", "1000"],
      ["100", "2000"],
    ]);
    expect(asked.every((query) => query.domain === "acme")).toBe(true);
  });

  it("ends with a null cursor when the history ends first, and follows short pages", async () => {
    const all = await changesUpTo(server().read, new URLSearchParams(), 100_000);
    expect(all.items).toHaveLength(2500);
    expect(all.cursor).toBeNull();

    const short = await changesUpTo(server(300).read, new URLSearchParams(), 1000);
    expect(short.items).toHaveLength(1000);
    expect(short.cursor).toBe("1000");
  });
});
