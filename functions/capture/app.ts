import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import middy from "@middy/core";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { fromRecord } from "../../shared/adapters/dynamo-records.ts";
import type { FailoverSettingsService } from "../../shared/config/failover-settings.ts";
import { type HistoryChange, historyChangeOf } from "../../shared/history/change.ts";
import type { ChangeQueue, HistoryStore } from "../../shared/ports.ts";
import { type CapturedChange, capturedItem, pack } from "../../shared/sync/capture.ts";

export interface CaptureDeps {
  readonly serverId: string;
  /** Read once per invocation: is automatic sync on (R7)? */
  readonly failoverSettings: Pick<FailoverSettingsService, "get">;
  readonly queue: ChangeQueue;
  readonly history: HistoryStore;
  /** How long history keeps a change (R26), in days. */
  readonly historyDays: number;
  readonly now: () => number;
  readonly logger: Logger;
}

/** A stream record's item after and before the change, as the table stores them. */
function imagesOf(record: DynamoDBRecord) {
  const image = (name: "NewImage" | "OldImage") => {
    const stored = record.dynamodb?.[name] as Record<string, AttributeValue> | undefined;
    // The table's record, as the item it stores (without the index's keys).
    return stored && fromRecord(unmarshall(stored));
  };
  return { after: image("NewImage"), before: image("OldImage") };
}

/**
 * DynamoDB stream → history and FIFO queue. Every new version of a replicated item, own or
 * applied by sync, is kept in this server's history with the item it replaced (R26); this
 * server's own changes go to the queue (R7), packed per message group (domains hashed into a few) in stream order
 * up to 64 KB a message, sent in SendMessageBatch requests. A partial batch response names the
 * first record not done: the stream retries from there; history's writes are keyed by item and
 * version and the queue's deduplication ids make what was done already a no-op.
 */
export function createCaptureHandler(deps: CaptureDeps) {
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(deps.logger, { logEvent: false }))
    .handler(async (event) => {
      const records = event.Records;
      const changes: (CapturedChange & { readonly record: number })[] = [];
      const history: HistoryChange[] = [];
      let firstHistoryRecord = records.length;
      let failedAt = records.length;
      for (const [index, record] of records.entries()) {
        try {
          const { after, before } = imagesOf(record);
          const change = historyChangeOf(after, before);
          if (change) {
            history.push(change);
            firstHistoryRecord = Math.min(firstHistoryRecord, index);
          }
          const item = capturedItem(after, before, deps.serverId);
          if (item) changes.push({ item, eventId: record.eventID ?? "", record: index });
        } catch (error) {
          deps.logger.error("unreadable stream record", { error: String(error) });
          failedAt = index;
          break;
        }
      }
      const [recorded, notQueued] = await Promise.all([
        recordHistory(deps, history),
        queueChanges(deps, changes),
      ]);
      if (!recorded) failedAt = Math.min(failedAt, firstHistoryRecord);
      failedAt = Math.min(failedAt, notQueued);
      const failed = records[failedAt];
      return {
        batchItemFailures: failed
          ? [{ itemIdentifier: failed.dynamodb?.SequenceNumber ?? "" }]
          : [],
      };
    });
}

/** Keeps the changes in history; false (logged) when they could not all be written. */
async function recordHistory(deps: CaptureDeps, changes: readonly HistoryChange[]) {
  if (changes.length === 0) return true;
  const expiresAt = Math.floor(deps.now() / 1000) + deps.historyDays * 86_400;
  try {
    await deps.history.record(changes, expiresAt);
    return true;
  } catch (error) {
    deps.logger.warn("changes not kept in history; the stream retries them", {
      changes: changes.length,
      error: String(error),
    });
    return false;
  }
}

/** Queues this server's changes; the index of the first record not queued (none: past the end). */
async function queueChanges(
  deps: CaptureDeps,
  changes: readonly (CapturedChange & { readonly record: number })[],
): Promise<number> {
  if (changes.length === 0) return Number.POSITIVE_INFINITY;
  // Nothing is forwarded while the module or automatic sync is off (R7).
  const settings = await deps.failoverSettings.get();
  if (!settings.enabled || !settings.autoSync) return Number.POSITIVE_INFINITY;
  const messages = pack(changes);
  const sent = await deps.queue.sendInOrder(messages);
  const notSent = messages.filter((_, index) => sent[index] !== true);
  if (notSent.length === 0) return Number.POSITIVE_INFINITY;
  deps.logger.warn("changes not queued; the stream retries them", {
    messages: notSent.length,
    error: String(sent.find((outcome) => outcome !== true)),
  });
  return Math.min(...notSent.map((message) => changes[message.from]?.record ?? 0));
}
