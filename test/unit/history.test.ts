import { describe, expect, it } from "vitest";
import { type HistoryChange, historyChangeOf, lastVersionAt } from "../../shared/history/change.ts";
import { rewindPlan, stateAt } from "../../shared/history/rewind.ts";
import { type ConfigItem, heartbeatKey, tombstone } from "../../shared/model/items.ts";

/** Versions read as times (R8): `v(s)` is a change made at second `s`. */
const v = (seconds: number, counter = 0) => seconds * 1_000_000 + counter;
const T = lastVersionAt(10_000); // the moment T: second 10

const domainItem = (version: number, data = { description: "payroll" }): ConfigItem => ({
  pk: "DOMAIN#acme",
  sk: "DOMAIN",
  kind: "domain",
  id: "acme",
  domain: "acme",
  version,
  origin: "prod",
  updatedAt: version / 1000,
  data,
  running: true,
});
const user = (id: string, version: number, data: Record<string, unknown> = {}): ConfigItem => ({
  pk: "DOMAIN#acme",
  sk: `USER#${id}`,
  kind: "user",
  id,
  domain: "acme",
  version,
  origin: "prod",
  updatedAt: version / 1000,
  data: { homeDirectory: `/data/${id}`, passwordHash: "hash-1", ...data },
});
const heartbeat = (version: number): ConfigItem => ({
  ...heartbeatKey,
  kind: "heartbeat",
  id: "heartbeat",
  version,
  origin: "prod",
  updatedAt: version / 1000,
  data: { sentAt: version },
});
const deleted = (item: ConfigItem, version: number) => tombstone(item, version, "prod", 0);
/** The change history keeps for `after` replacing `before` (asserted to be kept). */
function change(after: ConfigItem, before?: ConfigItem): HistoryChange {
  const kept = historyChangeOf(after, before);
  if (!kept) throw new Error(`not kept: ${after.sk}`);
  return kept;
}

describe("historyChangeOf: what history keeps of a stream record (R26)", () => {
  it("keeps this server's change with the item before it and the data fields it changed", () => {
    const before = user("alice", v(1));
    const after = user("alice", v(2), { homeDirectory: "/x", passwordHash: "hash-2" });

    expect(historyChangeOf(after, before)).toEqual({
      scope: "DOMAIN#acme",
      key: "USER#alice",
      id: "user:alice",
      domain: "acme",
      op: "put",
      version: v(2),
      origin: "prod",
      fields: ["homeDirectory", "password"],
      before,
    });
  });

  it("keeps a change applied by sync (another origin) and a creation (no before)", () => {
    const applied = { ...user("bob", v(3)), origin: "failover" };

    const kept = historyChangeOf(applied, undefined);

    expect(kept).toMatchObject({ origin: "failover", op: "put", version: v(3) });
    expect(kept?.fields).toEqual(["homeDirectory", "password"]);
    expect(kept).not.toHaveProperty("before");
  });

  it("keeps a delete (a tombstone) with no fields, and a re-create over a tombstone as all fields", () => {
    const live = user("alice", v(1));
    const gone = deleted(live, v(2));

    expect(historyChangeOf(gone, live)).toMatchObject({ op: "delete", fields: [], before: live });
    expect(historyChangeOf(user("alice", v(3)), gone)).toMatchObject({
      op: "put",
      fields: ["homeDirectory", "password"],
      before: gone,
    });
  });

  it("keeps the server scope's items without a domain", () => {
    const web: ConfigItem = {
      pk: "SERVER",
      sk: "WEB",
      kind: "web",
      id: "web",
      version: v(1),
      origin: "prod",
      updatedAt: 1,
      data: { port: 443 },
      running: false,
    };

    const kept = historyChangeOf(web, undefined);

    expect(kept).toMatchObject({ scope: "SERVER", key: "WEB", id: "web", fields: ["port"] });
    expect(kept).not.toHaveProperty("domain");
  });

  it("keeps nothing of the heartbeat, local state, a run-state change or a removal", () => {
    const local = { ...user("x", v(2)), pk: "LOCAL", sk: "failover-settings" };
    const stopped = { ...domainItem(v(1)), running: false };

    expect(historyChangeOf(heartbeat(v(2)), heartbeat(v(1)))).toBeUndefined();
    expect(historyChangeOf(local, undefined)).toBeUndefined();
    expect(historyChangeOf(stopped, domainItem(v(1)))).toBeUndefined();
    expect(historyChangeOf(undefined, user("alice", v(1)))).toBeUndefined();
  });
});

describe("stateAt: a scope at the moment T from its items now and the changes since (R26)", () => {
  it("gives an item changed since T as its first change since found it", () => {
    const atT = user("alice", v(5));
    const second = user("alice", v(11), { homeDirectory: "/a" });
    const third = user("alice", v(12), { homeDirectory: "/b" });

    // Newest first, as history lists them.
    const state = stateAt([third], [change(third, second), change(second, atT)], T);

    expect(state).toEqual({ items: [atT] });
  });

  it("leaves out an item created since T, brings back one deleted since, keeps one untouched", () => {
    const untouched = user("carol", v(4));
    const created = user("dave", v(11));
    const alice = user("alice", v(5));
    const gone = deleted(alice, v(12));

    const state = stateAt(
      [untouched, created, gone],
      [change(gone, alice), change(created, undefined)],
      T,
    );

    expect(state).toEqual({ items: [alice, untouched] });
  });

  it("leaves out an item that was a tombstone at T and was re-created since", () => {
    const alice = user("alice", v(2));
    const gone = deleted(alice, v(5));
    const back = user("alice", v(11));

    expect(stateAt([back], [change(back, gone)], T)).toEqual({ items: [] });
  });

  it("ignores changes at or before T that a listing may still carry", () => {
    const old = user("alice", v(2));
    const atT = user("alice", v(10, 999), { homeDirectory: "/t" });

    expect(stateAt([atT], [change(atT, old)], T)).toEqual({ items: [atT] });
  });

  it("answers `behind` while history does not hold an item's current version yet", () => {
    const alice = user("alice", v(5));
    const first = user("alice", v(11), { homeDirectory: "/a" });
    const latest = user("alice", v(12), { homeDirectory: "/b" });
    const created = user("dave", v(13));

    expect(stateAt([latest, created], [change(first, alice)], T)).toEqual({
      behind: ["user:alice", "user:dave"],
    });
  });

  it("never waits for the heartbeat, which history does not keep, nor returns it", () => {
    const alice = user("alice", v(5));

    expect(stateAt([heartbeat(v(20)), alice], [], T)).toEqual({ items: [alice] });
  });
});

describe("rewindPlan: the writes that make a scope what it was (R26)", () => {
  const stamp = { version: v(30), origin: "prod", now: 30_000 };

  it("names what is added, removed and changed (with fields), sorted, and skips what is equal", () => {
    const alice = user("alice", v(5));
    const bob = user("bob", v(5));
    const carol = user("carol", v(5));
    const now = [
      domainItem(v(5)),
      user("alice", v(11), { passwordHash: "hash-2", homeDirectory: "/x" }),
      carol,
      user("dave", v(12)),
      deleted(bob, v(13)),
    ];

    const plan = rewindPlan([domainItem(v(5)), alice, bob, carol], now, stamp);

    expect(plan.added).toEqual(["user:bob"]);
    expect(plan.removed).toEqual(["user:dave"]);
    expect(plan.changed).toEqual([{ id: "user:alice", fields: ["homeDirectory", "password"] }]);
    expect(plan.writes.map((item) => [item.sk, item.deleted === true])).toEqual([
      ["USER#alice", false],
      ["USER#bob", false],
      ["USER#dave", true],
    ]);
  });

  it("writes every item as one new version from this server, the moment's data restored", () => {
    const alice = user("alice", v(5));
    const now = [deleted(alice, v(12)), user("dave", v(11))];

    const { writes } = rewindPlan([alice], now, stamp);

    for (const item of writes)
      expect(item).toMatchObject({ version: v(30), origin: "prod", updatedAt: 30_000 });
    expect(writes[0]).toEqual({ ...alice, version: v(30), updatedAt: 30_000 });
    expect(writes[0]).not.toHaveProperty("deleted");
    expect(writes[1]).not.toHaveProperty("data");
  });

  it("puts a domain back before its children, and deletes one after them", () => {
    const domain = domainItem(v(5));
    const alice = user("alice", v(5));

    const back = rewindPlan(
      [alice, domain],
      [deleted(alice, v(12)), deleted(domain, v(12))],
      stamp,
    );
    const gone = rewindPlan([], [domain, alice], stamp);

    expect(back.writes.map((item) => item.kind)).toEqual(["domain", "user"]);
    expect(gone.writes.map((item) => item.kind)).toEqual(["user", "domain"]);
  });

  it("gives a domain put back its run state at the moment; a live one is written with the moment's, which the version rule leaves to the stored one", () => {
    const stoppedAtT = { ...domainItem(v(5)), running: false };

    const back = rewindPlan([stoppedAtT], [deleted(stoppedAtT, v(12))], stamp);
    const changed = rewindPlan(
      [stoppedAtT],
      [{ ...domainItem(v(11), { description: "other" }), running: true }],
      stamp,
    );

    expect(back.writes[0]?.running).toBe(false);
    // The run state is not data: a run-state difference alone is no change (R2).
    expect(rewindPlan([stoppedAtT], [domainItem(v(5))], stamp).writes).toEqual([]);
    expect(changed.changed).toEqual([{ id: "domain", fields: ["description"] }]);
  });

  it("never removes the heartbeat from the server scope", () => {
    expect(rewindPlan([], [heartbeat(v(20))], stamp).writes).toEqual([]);
  });
});
