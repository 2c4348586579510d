import { createHash } from "node:crypto";
import { z } from "zod";
import {
  type ConfigItem,
  domainPk,
  isReplicated,
  partitionOf,
  SERVER_PARTITION,
} from "../model/items.ts";
import type { QueuedMessage } from "../ports.ts";

/**
 * SQS bills a request per 64 KB of payload: a message is packed up to this many bytes, so that
 * sending it, receiving it and handing it to forward cost one request each.
 */
export const PACK_BYTES = 64 * 1024;

/**
 * The stream's filter criteria for capture (the event source mapping's in the cloud, the local
 * stream poller's locally): new versions of replicated items only (R3: a domain's partition or
 * the server level, never LOCAL; removals carry no new image). Items of any origin pass: capture
 * records every change this server stores in its history (R26), what sync applied here
 * included, and queues its own (`capturedItem`).
 */
export const captureFilter = {
  eventName: ["INSERT", "MODIFY"],
  dynamodb: { Keys: { pk: { S: [{ prefix: domainPk("") }, SERVER_PARTITION] } } },
};

/**
 * The item a stream record carries to the failover, or undefined when it is not to be sent:
 * local state (R3), an item applied here by sync (R18: only this server's own changes go out),
 * a run-state change (R2: same version), or a removal (config deletes are tombstones; a hard
 * delete is housekeeping).
 */
export function capturedItem(
  after: ConfigItem | undefined,
  before: Pick<ConfigItem, "version"> | undefined,
  serverId: string,
): ConfigItem | undefined {
  if (!after || !isReplicated(after) || after.origin !== serverId) return undefined;
  if (before?.version === after.version) return undefined;
  return after;
}

/**
 * The message groups the changes are spread over. A FIFO queue keeps each group's order, and
 * Lambda runs at most one batch of a group at a time, so a group per domain would cut a stream
 * batch of many domains into as many small messages. A domain always falls into the same group
 * (its changes stay in order, R8); as many groups as forward runs side by side
 * (topology.forward.source.maxConcurrency) keep it busy.
 */
export const MESSAGE_GROUPS = 4;

/** A change's message group: its partition (domain, or the server level) hashed into one. */
export function messageGroup(item: ConfigItem): string {
  const digest = createHash("sha256").update(partitionOf(item)).digest();
  return `g${digest.readUInt32BE(0) % MESSAGE_GROUPS}`;
}

/** A captured change and the stream record it came from. */
export interface CapturedChange {
  readonly item: ConfigItem;
  /** The stream record's event id: what makes a re-sent message a duplicate. */
  readonly eventId: string;
}

/** A queue message and the index (in the packed list) of the first change it carries. */
export interface PackedMessage extends QueuedMessage {
  readonly from: number;
}

/** The body of a queue message: changes of one message group, in stream order. */
const body = (items: readonly string[]) => `{"items":[${items.join(",")}]}`;
const EMPTY_BODY_BYTES = Buffer.byteLength(body([]));

/**
 * Packs changes (in stream order) into queue messages: one message per message group (a domain
 * always in the same group, R8), each group's changes in stream order, a message closed when the next change would take it past
 * PACK_BYTES. Messages come out ordered by their first change. The deduplication id is a hash of
 * the message's stream event ids, so a retried stream batch packs into the same messages and the
 * queue drops them; a batch cut differently on retry may send a change twice, which the version
 * rule makes harmless (R8).
 */
export function pack(changes: readonly CapturedChange[]): PackedMessage[] {
  const open = new Map<
    string,
    { from: number; items: string[]; eventIds: string[]; bytes: number }
  >();
  const messages: PackedMessage[] = [];
  const close = (groupId: string) => {
    const message = open.get(groupId);
    if (!message) return;
    open.delete(groupId);
    messages.push({
      body: body(message.items),
      groupId,
      deduplicationId: createHash("sha256").update(message.eventIds.join("\n")).digest("hex"),
      from: message.from,
    });
  };
  changes.forEach(({ item, eventId }, index) => {
    const groupId = messageGroup(item);
    const json = JSON.stringify(item);
    const bytes = Buffer.byteLength(json) + 1;
    const current = open.get(groupId);
    if (current && current.bytes + bytes > PACK_BYTES) close(groupId);
    const message = open.get(groupId) ?? {
      from: index,
      items: [],
      eventIds: [],
      bytes: EMPTY_BODY_BYTES,
    };
    message.items.push(json);
    message.eventIds.push(eventId);
    message.bytes += bytes;
    open.set(groupId, message);
  });
  for (const groupId of [...open.keys()]) close(groupId);
  return messages.sort((a, b) => a.from - b.from);
}

const packedBody = z.union([
  z.object({ items: z.array(z.record(z.string(), z.unknown())) }),
  // A message queued by a version that sent one change per message (before packing).
  z
    .object({ item: z.record(z.string(), z.unknown()) })
    .transform(({ item }) => ({ items: [item] })),
]);

/** The changes a queue message carries, in order; throws when the body is not one. */
export function unpack(messageBody: string): ConfigItem[] {
  return packedBody.parse(JSON.parse(messageBody)).items as unknown as ConfigItem[];
}

/** A message holding one change alone: how a rejected change is dead-lettered (R10). */
export function single(item: ConfigItem): QueuedMessage {
  return {
    body: body([JSON.stringify(item)]),
    groupId: messageGroup(item),
    deduplicationId: createHash("sha256").update(JSON.stringify(item)).digest("hex"),
  };
}
