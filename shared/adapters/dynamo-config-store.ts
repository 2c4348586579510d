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
import { invalid } from "../errors.ts";
import { type ConfigItem, hasRunState, type ItemKey, LOCAL_PK } from "../model/items.ts";
import { type ConfigStore, type Page, type PageRequest, WriteConflict } from "../ports.ts";
import { DOMAINS_INDEX } from "./config-table.ts";

const DOMAINS = "DOMAIN";

/** ConfigStore on one DynamoDB table (see config-table.ts for the layout). */
export class DynamoConfigStore implements ConfigStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
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

  list(pk: string, skPrefix: string, page: PageRequest): Promise<Page<ConfigItem>> {
    // DynamoDB refuses begins_with on an empty string; an empty prefix means the whole partition.
    return this.query(
      {
        KeyConditionExpression: skPrefix ? "pk = :pk AND begins_with(sk, :prefix)" : "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk, ...(skPrefix ? { ":prefix": skPrefix } : {}) },
        FilterExpression: "attribute_not_exists(deleted)",
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
    const { pk, sk, running, ...fields } = toRecord(item);
    const set = Object.entries(fields).filter(([, value]) => value !== undefined);
    const remove = item.deleted ? ["data", "running", "gsi1pk", "gsi1sk"] : ["deleted"];
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
    const removals = remove.map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: `SET ${assignments.join(", ")} REMOVE ${removals.join(", ")}`,
          ConditionExpression: "attribute_not_exists(pk) OR #version < :version",
          ExpressionAttributeNames: { ...names, "#version": "version" },
          ExpressionAttributeValues: { ...values, ":version": item.version },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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

  async getLocal<T>(name: string): Promise<T | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: LOCAL_PK, sk: name },
        ConsistentRead: true,
      }),
    );
    return Item?.value as T | undefined;
  }

  async putLocal<T>(name: string, value: T, options: { readonly expiresAt?: number } = {}) {
    // expiresAt (epoch seconds) is the table's TTL attribute: short-lived records clean themselves up.
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: LOCAL_PK, sk: name, value, expiresAt: options.expiresAt },
      }),
    );
  }

  async listLocal<T>(prefix: string, from: string, limit: number): Promise<T[]> {
    const { Items = [] } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":pk": LOCAL_PK, ":from": from, ":to": `${prefix}\uffff` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.map((item) => item.value as T);
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

/** Live domains carry the sparse index keys; tombstones drop out of the listing. */
export function toRecord(item: ConfigItem): Record<string, unknown> {
  return item.kind === "domain" && !item.deleted
    ? { ...item, gsi1pk: DOMAINS, gsi1sk: item.id }
    : { ...item };
}

export function fromRecord(record: Record<string, unknown>): ConfigItem {
  const { gsi1pk: _pk, gsi1sk: _sk, ...item } = record;
  return item as unknown as ConfigItem;
}

/** Opaque page cursors over DynamoDB's LastEvaluatedKey (shared with the bulk store). */
export const encodeCursor = (key: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(key)).toString("base64url");

/** A page's last key: the table's and the index's key attributes, all strings. */
const KEY_ATTRIBUTES = new Set(["pk", "sk", "gsi1pk", "gsi1sk"]);

export function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString());
    if (
      key &&
      typeof key === "object" &&
      !Array.isArray(key) &&
      Object.entries(key).every(
        ([name, value]) => KEY_ATTRIBUTES.has(name) && typeof value === "string",
      ) &&
      "pk" in key &&
      "sk" in key
    )
      return key as Record<string, unknown>;
  } catch {}
  throw invalid("cursor", "is not a cursor this API returned");
}

/**
 * Runs a paged read; a cursor that DynamoDB refuses (a well-formed key of another listing)
 * is the caller's mistake, not a server error.
 */
export async function withCursor<T>(cursor: string | undefined, read: () => Promise<T>) {
  try {
    return await read();
  } catch (error) {
    if (cursor && (error as { name?: string }).name === "ValidationException")
      throw invalid("cursor", "is not a cursor of this listing");
    throw error;
  }
}
