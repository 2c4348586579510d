import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type ConfigItem, hasRunState, type ItemKey } from "../model/items.ts";
import { type ConfigStore, type Page, type PageRequest, WriteConflict } from "../ports.ts";
import { DOMAINS_INDEX } from "./config-table.ts";
import { DynamoBatchApply, type FirstTry } from "./dynamo-batch-apply.ts";
import { decodeCursor, encodeCursor, withCursor } from "./dynamo-cursor.ts";
import { DynamoLocalRecords } from "./dynamo-local-records.ts";
import {
  DOMAINS,
  fromRecord,
  removedAttributes,
  storedRecord,
  toRecord,
  versionCondition,
} from "./dynamo-records.ts";

export interface DynamoConfigStoreOptions {
  /** @default "adaptive" (see FirstTry) */
  readonly firstTry?: FirstTry;
}

/**
 * ConfigStore on one DynamoDB table (see config-table.ts for the layout): the items' reads and
 * writes here; the batched apply (dynamo-batch-apply.ts) and the LOCAL records
 * (dynamo-local-records.ts) in their own modules.
 */
export class DynamoConfigStore implements ConfigStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly batch: DynamoBatchApply;
  private readonly local: DynamoLocalRecords;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoConfigStoreOptions = {},
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.batch = new DynamoBatchApply(this.doc, tableName, options.firstTry);
    this.local = new DynamoLocalRecords(this.doc, tableName);
  }

  async get(key: ItemKey): Promise<ConfigItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: key.pk, sk: key.sk },
        ConsistentRead: true,
      }),
    );
    return Item ? fromRecord(Item) : undefined;
  }

  list(
    pk: string,
    skPrefix: string,
    page: PageRequest,
    options: { readonly withTombstones?: boolean } = {},
  ): Promise<Page<ConfigItem>> {
    // DynamoDB refuses begins_with on an empty string; an empty prefix means the whole partition.
    return this.query(
      {
        KeyConditionExpression: skPrefix ? "pk = :pk AND begins_with(sk, :prefix)" : "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk, ...(skPrefix ? { ":prefix": skPrefix } : {}) },
        ...(options.withTombstones ? {} : { FilterExpression: "attribute_not_exists(deleted)" }),
        ConsistentRead: true,
      },
      page,
    );
  }

  listDomains(page: PageRequest): Promise<Page<ConfigItem>> {
    return this.query(
      {
        IndexName: DOMAINS_INDEX,
        KeyConditionExpression: "gsi1pk = :domains",
        ExpressionAttributeValues: { ":domains": DOMAINS },
      },
      page,
    );
  }

  async write(
    item: ConfigItem,
    condition: { readonly expectedVersion: number | undefined; readonly requireLive?: ItemKey },
  ): Promise<void> {
    const put = {
      TableName: this.tableName,
      Item: toRecord(item),
      ...(condition.expectedVersion === undefined
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression: "version = :expected",
            ExpressionAttributeValues: { ":expected": condition.expectedVersion },
          }),
    };
    try {
      if (!condition.requireLive) {
        await this.doc.send(new PutCommand(put));
        return;
      }
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: condition.requireLive.pk, sk: condition.requireLive.sk },
                ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(deleted)",
              },
            },
            { Put: put },
          ],
        }),
      );
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        error instanceof TransactionCanceledException
      ) {
        throw new WriteConflict();
      }
      throw error;
    }
  }

  async apply(item: ConfigItem): Promise<boolean> {
    // An update, not a put: a live item's run state (R2) is kept in the same atomic write.
    const { pk, sk, running, ...fields } = storedRecord(item);
    const set = Object.entries(fields).filter(([, value]) => value !== undefined);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const assignments = set.map(([name, value], index) => {
      names[`#a${index}`] = name;
      values[`:a${index}`] = value;
      return `#a${index} = :a${index}`;
    });
    if (!item.deleted && hasRunState(item.kind)) {
      names["#running"] = "running";
      values[":running"] = running === true;
      assignments.push("#running = if_not_exists(#running, :running)");
    }
    const removals = removedAttributes(item).map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    const newer = versionCondition(item.version);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: `SET ${assignments.join(", ")} REMOVE ${removals.join(", ")}`,
          ConditionExpression: newer.ConditionExpression,
          ExpressionAttributeNames: { ...names, ...newer.ExpressionAttributeNames },
          ExpressionAttributeValues: { ...values, ...newer.ExpressionAttributeValues },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The version rule for a whole batch (see DynamoBatchApply). */
  applyBatch(items: readonly ConfigItem[]): Promise<boolean[]> {
    return this.batch.apply(items);
  }

  async setRunState(key: ItemKey, running: boolean): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: "SET running = :running",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(deleted)",
          ExpressionAttributeValues: { ":running": running },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  getLocal<T>(name: string): Promise<T | undefined> {
    return this.local.get<T>(name);
  }

  putLocal<T>(name: string, value: T, options?: { readonly expiresAt?: number }): Promise<void> {
    return this.local.put(name, value, options);
  }

  putLocalIf<T extends { readonly rev: number }>(
    name: string,
    value: T,
    expectedRev: number | undefined,
  ): Promise<boolean> {
    return this.local.putIf(name, value, expectedRev);
  }

  listLocal<T>(prefix: string, from: string, limit: number): Promise<T[]> {
    return this.local.list<T>(prefix, from, limit);
  }

  private async query(
    input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">,
    page: PageRequest,
  ): Promise<Page<ConfigItem>> {
    const { Items = [], LastEvaluatedKey } = await withCursor(page.cursor, () =>
      this.doc.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          Limit: page.limit,
          ExclusiveStartKey: page.cursor ? decodeCursor(page.cursor) : undefined,
        }),
      ),
    );
    return {
      items: Items.map(fromRecord),
      ...(LastEvaluatedKey ? { cursor: encodeCursor(LastEvaluatedKey) } : {}),
    };
  }
}
