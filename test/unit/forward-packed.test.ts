import { describe, expect, it } from "vitest";
import type { ConfigItem } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import type { QueuedMessage } from "../../shared/ports.ts";
import { applyChanges } from "../../shared/sync/apply.ts";
import { messageGroup, pack, unpack } from "../../shared/sync/capture.ts";
import type { SyncEvent } from "../../shared/sync/events.ts";
import { forwardBatch, type ReceivedMessage } from "../../shared/sync/forward.ts";
import { memoryProduction } from "../support/memory-production.ts";
import { MemoryStore } from "../support/memory-store.ts";

const version = Date.parse("2026-12-07T10:00:00Z") * 1000;
const base = { origin: "production", updatedAt: Date.parse("2026-12-07T10:00:00Z") };
const domainItem = (domain: string, n: number): ConfigItem => ({
  ...base,
  pk: `DOMAIN#${domain}`,
  sk: "DOMAIN",
  kind: "domain",
  id: domain,
  domain,
  version: version + n,
  data: { description: "", limits: {} },
});
const groupItem = (domain: string, id: string, n: number): ConfigItem => ({
  ...base,
  pk: `DOMAIN#${domain}`,
  sk: `GROUP#${id}`,
  kind: "group",
  id,
  domain,
  version: version + n,
  data: { description: `group ${id}` },
});
/** A service the failover rejects (port out of range): invalid on its side (R10). */
const poison: ConfigItem = {
  ...base,
  pk: "DOMAIN#acme",
  sk: "SERVICE#bad",
  kind: "service",
  id: "bad",
  domain: "acme",
  version: version + 2,
  data: { protocol: "SFTP", ip: "10.0.0.1", port: 70_000 },
};

/**
 * Production on the memory store, forwarding to a failover that applies with the receiver's
 * batch rule into its own store; the DLQ and the events are recorded.
 */
async function pipeline() {
  const server = memoryProduction();
  await server.deps.failoverSettings.put({
    enabled: true,
    host: "failover.example.com",
    username: "admin",
    password: "Passw0rd-1",
    autoSync: true,
  });
  const failover = new MemoryStore();
  const failoverClock = new HybridClock(() => base.updatedAt);
  server.peer.sendChanges = (_origin, changes) =>
    applyChanges(failover, failoverClock, changes as { item: ConfigItem }[], () => base.updatedAt);
  const deadLettered: { message: QueuedMessage; reason: string }[] = [];
  let dlqDown = false;
  const events: SyncEvent[] = [];
  const deps = {
    ...server.deps,
    queue: {
      ...server.deps.queue,
      deadLetter: async (message: QueuedMessage, reason: string) => {
        if (dlqDown) throw new Error("SQS is unavailable");
        deadLettered.push({ message, reason });
      },
    },
    events: { publish: async (event: SyncEvent) => void events.push(event) },
  };
  const received = (message: QueuedMessage, receiveCount = 1): ReceivedMessage => ({
    ...message,
    receiptHandle: `handle-${message.deduplicationId}`,
    receiveCount,
  });
  return {
    peer: server.peer,
    failover,
    deadLettered,
    events,
    dlqDown: (down: boolean) => {
      dlqDown = down;
    },
    forward: (messages: ReceivedMessage[]) => forwardBatch(deps, messages, Date.now() + 10_000),
    received,
  };
}

const versionOn = async (store: MemoryStore, item: ConfigItem) => (await store.get(item))?.version;

describe("forward with packed messages: outcomes stay per change (R8, R10, R16)", () => {
  it("sends every message's changes in one call, keeps a rejected change alone in the DLQ and applies its neighbours", async () => {
    const { failover, deadLettered, events, forward, received } = await pipeline();
    const acme = [domainItem("acme", 1), poison, groupItem("acme", "g", 3)];
    const other = [domainItem("other", 4)];
    const messages = pack(
      [...acme, ...other].map((item, index) => ({ item, eventId: `e${index}` })),
    );
    expect(messages.map((message) => unpack(message.body).length)).toEqual([3, 1]);

    const outcomes = await forward(messages.map((message) => received(message)));

    expect(outcomes).toEqual([true, true]);
    for (const item of [acme[0], acme[2], other[0]] as ConfigItem[])
      expect(await versionOn(failover, item)).toBe(item.version);
    expect(await failover.get(poison)).toBeUndefined();
    expect(deadLettered).toHaveLength(1);
    expect(unpack(deadLettered[0]?.message.body ?? "")).toEqual([poison]);
    expect(deadLettered[0]?.message.groupId).toBe(messageGroup(poison));
    expect(deadLettered[0]?.reason).toMatch(/port/);
    // One call, one event for the invocation (R16), naming the rejected change.
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({ Success: false, Items: 3 });
  });

  it("a crash after the DLQ took the poison change, before the message was deleted: redelivery and redrive apply nothing twice", async () => {
    const { failover, deadLettered, events, forward, received } = await pipeline();
    const items = [domainItem("acme", 1), poison, groupItem("acme", "g", 3)];
    const [message] = pack(items.map((item, index) => ({ item, eventId: `e${index}` })));
    if (!message) throw new Error("nothing packed");

    // The first outcome is lost (the function died before answering): SQS hands it out again.
    await forward([received(message, 1)]);
    expect(await forward([received(message, 2)])).toEqual([true]);
    // Resume moves the DLQ back to the queue: the poison change alone, rejected again.
    const kept = deadLettered.map(({ message: dead }) => dead);
    expect(await forward(kept.map((dead) => received(dead)))).toEqual(kept.map(() => true));

    expect(events.map((event) => event.detail.Items)).toEqual([2, 0, 0]);
    expect(await versionOn(failover, items[0] as ConfigItem)).toBe(items[0]?.version);
    expect(await versionOn(failover, items[2] as ConfigItem)).toBe(items[2]?.version);
    expect(await failover.get(poison)).toBeUndefined();
    // Each copy in the DLQ holds the poison change alone: nothing of its neighbours is kept.
    for (const { message: dead } of deadLettered) expect(unpack(dead.body)).toEqual([poison]);
  });

  it("a DLQ that fails leaves the packed message in the queue, and its redelivery keeps the poison change once", async () => {
    const { failover, deadLettered, dlqDown, forward, received } = await pipeline();
    const items = [domainItem("acme", 1), poison, groupItem("acme", "g", 3)];
    const [message] = pack(items.map((item, index) => ({ item, eventId: `e${index}` })));
    if (!message) throw new Error("nothing packed");

    dlqDown(true);
    const first = await forward([received(message, 1)]);
    dlqDown(false);
    const second = await forward([received(message, 2)]);

    expect(first[0]).toBeInstanceOf(Error);
    expect(second).toEqual([true]);
    expect(deadLettered.map(({ message: dead }) => unpack(dead.body))).toEqual([[poison]]);
    expect(await versionOn(failover, items[2] as ConfigItem)).toBe(items[2]?.version);
  });

  it("splits a call at 1,000 changes, and a short answer leaves only its own message in the queue", async () => {
    const server = await pipeline();
    const items = Array.from({ length: 1_100 }, (_, n) => groupItem("acme", `g${n}`, n));
    const messages = pack(items.map((item, index) => ({ item, eventId: `e${index}` })));
    const calls: number[] = [];
    const applyAll = server.peer.sendChanges;
    server.peer.sendChanges = async (origin, changes) => {
      calls.push(changes.length);
      const answers = await applyAll(origin, changes);
      // The first call's answer misses its last change (the 1,000th of the invocation).
      return calls.length === 1 ? answers.slice(0, -1) : answers;
    };

    const outcomes = await server.forward(messages.map((message) => server.received(message)));

    expect(calls).toEqual([1_000, 100]);
    const holding = messages.findIndex((message) =>
      unpack(message.body).some((item) => item.id === "g999"),
    );
    expect(outcomes.map((outcome) => outcome === true)).toEqual(
      messages.map((_, index) => index !== holding),
    );
    expect(outcomes[holding]).toBeInstanceOf(Error);
    // The change whose answer was lost is not counted; the others are, each in its place.
    expect(server.events[0]?.detail.Items).toBe(1_099);
  });

  it("dead-letters an unreadable message alone, with its reason, and forwards the others", async () => {
    const { failover, deadLettered, events, forward, received } = await pipeline();
    const [good] = pack([{ item: domainItem("acme", 1), eventId: "e1" }]);
    if (!good) throw new Error("nothing packed");
    const garbage = { body: "not json", groupId: "acme", deduplicationId: "x" };

    expect(await forward([received(garbage), received(good)])).toEqual([true, true]);

    expect(deadLettered).toEqual([
      {
        message: expect.objectContaining({ body: "not json" }),
        reason: expect.stringMatching(/^unreadable message/),
      },
    ]);
    expect(await versionOn(failover, domainItem("acme", 1))).toBe(version + 1);
    expect(events[0]?.detail).toMatchObject({ Success: false, Items: 1 });
    expect(events[0]?.detail.Reason).toMatch(/unreadable message/);
  });
});
