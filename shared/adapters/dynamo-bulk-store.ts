import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ConfigItem, ItemKey } from "../model/items.ts";
import type { BulkStore, Page, PageRequest, StoredRecord } from "../ports.ts";
import { decodeCursor, encodeCursor, withCursor } from "./dynamo-cursor.ts";
import { fromRecord, toRecord } from "./dynamo-records.ts";

/** BatchWriteItem's limit. */
const BATCH = 25;
/** Batches of one call in flight at once (DynamoDB Local on 2 cores does best with few). */
const PARALLEL_BATCHES = 4;
const MAX_ATTEMPTS = 8;

type WriteRequests = NonNullable<BatchWriteCommandInput["RequestItems"]>[string];

/** BulkStore on the config table: parallel Scan segments and BatchWriteItem. */
export class DynamoBulkStore implements BulkStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async scan(
    segment: number,
    totalSegments: number,
    page: PageRequest,
  ): Promise<Page<StoredRecord>> {
    const { Items = [], LastEvaluatedKey } = await withCursor(page.cursor, () =>
      this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          Segment: segment,
          TotalSegments: totalSegments,
          Limit: page.limit,
          ConsistentRead: true,
          ExclusiveStartKey: page.cursor ? decodeCursor(page.cursor) : undefined,
        }),
      ),
    );
    return {
      items: Items.map((record) => fromRecord(record) as unknown as StoredRecord),
      ...(LastEvaluatedKey ? { cursor: encodeCursor(LastEvaluatedKey) } : {}),
    };
  }

  putAll(items: ConfigItem[]): Promise<void> {
    return this.batchWrite(items.map((item) => ({ PutRequest: { Item: toRecord(item) } })));
  }

  deleteAll(keys: ItemKey[]): Promise<void> {
    return this.batchWrite(keys.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })));
  }

  /** Batches of 25, four in flight; unprocessed items are retried with backoff. */
  private async batchWrite(requests: WriteRequests): Promise<void> {
    const batches: WriteRequests[] = [];
    for (let start = 0; start < requests.length; start += BATCH)
      batches.push(requests.slice(start, start + BATCH));
    for (let start = 0; start < batches.length; start += PARALLEL_BATCHES) {
      await Promise.all(
        batches.slice(start, start + PARALLEL_BATCHES).map((batch) => this.writeBatch(batch)),
      );
    }
  }

  private async writeBatch(batch: WriteRequests): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const { UnprocessedItems } = await this.doc.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
      );
      pending = UnprocessedItems?.[this.tableName] ?? [];
      if (pending.length === 0) return;
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`DynamoDB left ${pending.length} writes unprocessed`);
      await this.sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}
