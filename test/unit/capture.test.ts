import { Logger } from "@aws-lambda-powertools/logger";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createCaptureHandler } from "../../functions/capture/app.ts";
import { lambdaContext } from "../../infra/local/lambda-context.ts";
import type { HistoryChange } from "../../shared/history/change.ts";
import { type ConfigItem, heartbeatKey } from "../../shared/model/items.ts";
import type { ChangeQueue, HistoryStore, QueuedMessage } from "../../shared/ports.ts";
import {
  capturedItem,
  MESSAGE_GROUPS,
  messageGroup,
  PACK_BYTES,
  pack,
  single,
  unpack,
} from "../../shared/sync/capture.ts";

const domain: ConfigItem = {
  pk: "DOMAIN#acme",
  sk: "DOMAIN",
  kind: "domain",
  id: "acme",
  domain: "acme",
  version: 2_000,
  origin: "prod",
  updatedAt: 2,
  data: { description: "x", limits: {} },
  running: false,
};

/** Group `id` of domain `name`, with a description of `size` characters. */
const group = (name: string, id: string, size = 10): ConfigItem => ({
  pk: `DOMAIN#${name}`,
  sk: `GROUP#${id}`,
  kind: "group",
  id,
  domain: name,
  version: 3_000,
  origin: "prod",
  updatedAt: 3,
  data: { description: "d".repeat(size) },
});

const captured = (items: ConfigItem[]) =>
  items.map((item, index) => ({ item, eventId: `event-${index}` }));

describe("capture: what goes into the queue (R2, R3, R7, R18)", () => {
  it("sends this server's change of a replicated item", () => {
    const old = { ...domain, version: 1_000 };
    expect(capturedItem(domain, old, "prod")).toEqual(domain);
  });

  it("sends nothing for a run-state change (same version), local state, a peer's item or a removal", () => {
    expect(capturedItem({ ...domain, running: true }, domain, "prod")).toBeUndefined();
    expect(capturedItem({ ...domain, pk: "LOCAL", sk: "x" }, undefined, "prod")).toBeUndefined();
    expect(capturedItem(domain, undefined, "failover")).toBeUndefined();
    expect(capturedItem(undefined, domain, "prod")).toBeUndefined();
  });
});

describe("capture packs a stream batch: one message per message group, in stream order (R8)", () => {
  it("puts each group's changes into one message, in stream order, ordered by first change", () => {
    const items = [group("a", "1"), group("f", "1"), group("a", "2"), group("f", "2")];
    expect(messageGroup(items[0] as ConfigItem)).not.toBe(messageGroup(items[1] as ConfigItem));

    const messages = pack(captured(items));

    expect(messages.map((message) => [message.groupId, message.from])).toEqual([
      [messageGroup(group("a", "1")), 0],
      [messageGroup(group("f", "1")), 1],
    ]);
    expect(messages.map((message) => unpack(message.body))).toEqual([
      [items[0], items[2]],
      [items[1], items[3]],
    ]);
  });

  it("spreads the domains over a fixed number of groups: many domains share a message, a domain always in the same group", () => {
    // A stream batch of a burst: 50 domains, 4 changes each, interleaved.
    const items = Array.from({ length: 200 }, (_, index) => group(`d${index % 50}`, `${index}`));

    const messages = pack(captured(items));

    expect(messages.length).toBeLessThanOrEqual(MESSAGE_GROUPS);
    for (const message of messages) {
      const carried = unpack(message.body);
      // Each domain's changes come in stream order, and only in its own group's message.
      expect(carried).toEqual(items.filter((item) => messageGroup(item) === message.groupId));
      for (const item of carried) expect(messageGroup(item)).toBe(message.groupId);
    }
    expect(messageGroup(group("d7", "x"))).toBe(messageGroup(group("d7", "y")));
  });

  it("closes a message before it would pass one 64 KB billing chunk", () => {
    // 40 changes of about 5 KB: a message holds 12 of them.
    const items = Array.from({ length: 40 }, (_, index) => group("a", `g${index}`, 5_000));

    const messages = pack(captured(items));

    for (const message of messages)
      expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(PACK_BYTES);
    expect(messages.length).toBe(Math.ceil((40 * 5_100) / PACK_BYTES));
    expect(messages.flatMap((message) => unpack(message.body))).toEqual(items);
  });

  it("derives the deduplication id from the stream records: a retried batch packs the same ids", () => {
    const items = [group("a", "1"), group("a", "2"), group("f", "1")];

    const first = pack(captured(items)).map((message) => message.deduplicationId);
    const again = pack(captured(items)).map((message) => message.deduplicationId);
    const other = pack(
      captured(items).map((change) => ({ ...change, eventId: `x${change.eventId}` })),
    );

    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(2);
    for (const id of first) expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(other.map((message) => message.deduplicationId)).not.toContain(first[0]);
  });

  it("reads a message queued before packing (one change) and a dead-lettered change alone", () => {
    const item = group("a", "1");

    expect(unpack(JSON.stringify({ item }))).toEqual([item]);
    expect(unpack(single(item).body)).toEqual([item]);
    expect(single(item).groupId).toBe(messageGroup(item));
    expect(() => unpack('{"changes":[]}')).toThrow();
  });
});

const notUsed = () => Promise.reject(new Error("not used"));

/**
 * A capture whose queue keeps what it is sent but refuses the messages of group `refused` and,
 * as SQS's order rule, all after; `history` keeps what capture records.
 */
function captureFor(options: {
  readonly refused?: string;
  readonly autoSync?: boolean;
  readonly history?: HistoryStore;
}) {
  const queued: QueuedMessage[] = [];
  const queue: ChangeQueue = {
    async sendInOrder(messages) {
      const first = messages.findIndex((message) => message.groupId === options.refused);
      queued.push(...(first < 0 ? messages : messages.slice(0, first)));
      return messages.map((_, index) =>
        first >= 0 && index >= first ? new Error("not queued") : true,
      );
    },
    deadLetter: notUsed,
    release: notUsed,
    redrive: notUsed,
    depths: notUsed,
  };
  const handler = createCaptureHandler({
    serverId: "prod",
    failoverSettings: {
      get: async () => ({ enabled: true, autoSync: options.autoSync ?? true }) as never,
    },
    queue,
    history: options.history ?? { record: async () => {}, list: notUsed },
    historyDays: 7,
    now: () => 1_000_000,
    logger: new Logger({ logLevel: "SILENT" }),
  });
  return {
    queued,
    capture: (Records: DynamoDBRecord[]) => handler({ Records }, lambdaContext("capture")),
  };
}

describe("capture's partial batch response (R8: nothing lost, order kept)", () => {
  const refusing = (refused: string) => captureFor({ refused });
  const record = (item: ConfigItem | Record<string, unknown>, sequence: number) =>
    ({
      eventID: `event-${sequence}`,
      dynamodb: { SequenceNumber: String(100 + sequence), NewImage: marshall(item) },
    }) as DynamoDBRecord;

  it("names the first record of the first message not queued: the stream retries from there", async () => {
    const { queued, capture } = refusing(messageGroup(group("f", "1")));
    const items = [
      group("a", "1"),
      group("a", "2"),
      group("f", "1"),
      group("c", "1"),
      group("a", "3"),
    ];

    const response = await capture(items.map(record));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "102" }] });
    expect(queued.flatMap((message) => unpack(message.body))).toEqual([
      items[0],
      items[1],
      items[4],
    ]);
  });

  it("stops at a record it cannot read and queues only what came before it", async () => {
    const { queued, capture } = refusing("none");
    const records = [
      record(group("a", "1"), 0),
      record(group("a", "2"), 1),
      record(group("f", "1"), 2),
    ];
    const unreadable = { ...records[1], dynamodb: { SequenceNumber: "101", NewImage: { pk: {} } } };

    const response = await capture([records[0], unreadable, records[2]] as DynamoDBRecord[]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "101" }] });
    expect(queued.flatMap((message) => unpack(message.body))).toEqual([group("a", "1")]);
  });
});

describe("capture keeps every stored change in history (R26)", () => {
  /** A capture whose history keeps what it gets; it refuses `failures` writes first. */
  function capturing(options: { autoSync: boolean; failures?: number }) {
    const kept: HistoryChange[] = [];
    const expiries: number[] = [];
    let failures = options.failures ?? 0;
    const history: HistoryStore = {
      async record(changes, expiresAt) {
        if (failures > 0) {
          failures -= 1;
          throw new Error("throttled");
        }
        kept.push(...changes);
        expiries.push(expiresAt);
      },
      list: notUsed,
    };
    return { kept, expiries, ...captureFor({ autoSync: options.autoSync, history }) };
  }
  const record = (
    after: ConfigItem | undefined,
    before: ConfigItem | undefined,
    sequence: number,
  ) =>
    ({
      eventID: `event-${sequence}`,
      dynamodb: {
        SequenceNumber: String(100 + sequence),
        ...(after ? { NewImage: marshall(after) } : {}),
        ...(before ? { OldImage: marshall(before) } : {}),
      },
    }) as DynamoDBRecord;
  const heartbeat = (version: number): ConfigItem => ({
    ...heartbeatKey,
    kind: "heartbeat",
    id: "heartbeat",
    version,
    origin: "prod",
    updatedAt: 1,
    data: {},
  });
  const applied = { ...group("a", "2"), origin: "failover" };

  it("keeps own and applied changes with the item before, even while automatic sync is off", async () => {
    const { kept, queued, expiries, capture } = capturing({ autoSync: false });
    const old = { ...group("a", "1"), version: 1_000, data: { description: "old" } };

    const response = await capture([
      record(group("a", "1"), old, 0),
      record(applied, undefined, 1),
      record(heartbeat(5_000), heartbeat(4_000), 2),
      record({ ...domain, running: true }, domain, 3),
    ]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(queued).toEqual([]);
    expect(kept.map((change) => [change.id, change.origin, change.before])).toEqual([
      ["group:1", "prod", old],
      ["group:2", "failover", undefined],
    ]);
    expect(expiries).toEqual([1_000 + 7 * 86_400]);
  });

  it("answers a history write that fails with the first record that has a change to keep; the retry keeps it all", async () => {
    const { kept, queued, capture } = capturing({ autoSync: true, failures: 1 });
    const records = [
      record(heartbeat(5_000), heartbeat(4_000), 0),
      record(group("a", "1"), undefined, 1),
      record(applied, undefined, 2),
    ];

    const first = await capture(records);
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: "101" }] });
    expect(kept).toEqual([]);

    // The stream sends the batch again from the record named.
    const retry = await capture(records.slice(1));
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(kept.map((change) => change.id)).toEqual(["group:1", "group:2"]);
    // Own changes were queued both times under the same deduplication id: SQS keeps one.
    const domainA = queued.filter((message) => message.groupId === messageGroup(group("a", "1")));
    expect(domainA).toHaveLength(2);
    expect(new Set(domainA.map((message) => message.deduplicationId)).size).toBe(1);
  });

  it("keeps what came before a record it cannot read, and names that record", async () => {
    const { kept, capture } = capturing({ autoSync: true });
    const unreadable = { eventID: "x", dynamodb: { SequenceNumber: "101", NewImage: { pk: {} } } };

    const response = await capture([
      record(group("a", "1"), undefined, 0),
      unreadable as unknown as DynamoDBRecord,
      record(group("a", "2"), undefined, 2),
    ]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "101" }] });
    expect(kept.map((change) => change.id)).toEqual(["group:1"]);
  });
});
