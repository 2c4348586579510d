import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchExecuteStatementCommand,
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

/** BatchExecuteStatement's limit. */
const STATEMENTS_PER_REQUEST = 25;
/** A statement's errors that only say its condition does not hold: the next attempt decides. */
const REFUSED = new Set(["ConditionalCheckFailed", "DuplicateItem"]);
/** A statement's errors worth sending again as it is, a few times. */
const RETRYABLE = new Set([
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
  "ThrottlingError",
  "InternalServerError",
  "TransactionConflict",
]);
const RETRIES = 3;
/** How much each item's outcome moves the adaptive guess of how many items are new. */
const LEARNING_RATE = 0.1;

/**
 * One conditional PartiQL statement of `applyBatch`: INSERT (the key is new), UPDATE where the
 * stored version is lower (a run-state kind's: where it has a run state, which it keeps), or
 * "revive": UPDATE where the version is lower and no run state is stored (a tombstone's key).
 */
type Attempt = "insert" | "update" | "revive";

export interface DynamoConfigStoreOptions {
  /**
   * Which statement `applyBatch` tries first for an item that is not a tombstone: INSERT (one
   * statement for a new item, two for an existing or stale one) or UPDATE (one for an existing
   * item, two for a new one, three for a stale one); `adaptive` picks, batch by batch, what
   * suited the items this store met lately. Tombstones always try UPDATE first.
   * @default "adaptive"
   */
  readonly firstTry?: "insert" | "update" | "adaptive";
}

/** ConfigStore on one DynamoDB table (see config-table.ts for the layout). */
export class DynamoConfigStore implements ConfigStore {
  private readonly doc: DynamoDBDocumentClient;
  /** Moving share of the items that `applyBatch` found new (1) rather than existing (0). */
  private newShare = 0.5;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoConfigStoreOptions = {},
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

  /**
   * The version rule for a whole batch with BatchExecuteStatement: each item goes through a short
   * ladder of conditional statements, all items' first attempts side by side (25 per request),
   * then the refused ones' next attempts, until one applies or the ladder ends (stale). No item
   * is read first. The statements' conditions exclude one another, so at most one applies:
   * - INSERT is refused when the key exists; items are never removed for good except by a full
   *   sync's wipe, so after a refused INSERT a refused UPDATE means stale;
   * - UPDATE … WHERE version < ? is refused when the item is missing or stale: an INSERT tells
   *   which, and if that is refused too (created meanwhile), the UPDATE is tried once more;
   * - a run-state kind's UPDATE sets no `running` (the stored run state stays, R2, R13); where
   *   none is stored (over a tombstone) the "revive" UPDATE sets the item's, as INSERT does.
   */
  async applyBatch(items: readonly ConfigItem[]): Promise<boolean[]> {
    const keys = new Set(items.map((item) => `${item.pk}\u0000${item.sk}`));
    if (keys.size !== items.length) throw new Error("applyBatch needs distinct keys");
    const insertFirst =
      this.options.firstTry === "insert" ||
      (this.options.firstTry !== "update" && this.newShare >= 0.5);
    const applied = items.map(() => false);
    let pending = items.map((item, index) => ({ item, index, ...ladder(item, insertFirst) }));
    while (pending.length > 0) {
      const outcomes = await this.execute(
        pending.map(({ item, attempt }) => statement(this.tableName, item, attempt)),
      );
      const next: typeof pending = [];
      pending.forEach((entry, position) => {
        const [attempt, ...rest] = entry.rest;
        if (outcomes[position]) {
          applied[entry.index] = true;
          if (!entry.item.deleted) this.learn(entry.attempt === "insert" ? 1 : 0);
        } else if (attempt) next.push({ ...entry, attempt, rest });
      });
      pending = next;
    }
    return applied;
  }

  private learn(isNew: number) {
    this.newShare += LEARNING_RATE * (isNew - this.newShare);
  }

  /** Runs the statements (distinct keys), 25 per request side by side: true where one applied. */
  private async execute(statements: Statement[]): Promise<boolean[]> {
    const chunks: Statement[][] = [];
    for (let start = 0; start < statements.length; start += STATEMENTS_PER_REQUEST)
      chunks.push(statements.slice(start, start + STATEMENTS_PER_REQUEST));
    return (await Promise.all(chunks.map((chunk) => this.executeChunk(chunk)))).flat();
  }

  private async executeChunk(statements: Statement[]): Promise<boolean[]> {
    const outcomes: boolean[] = statements.map(() => false);
    let todo = statements.map((entry, index) => ({ entry, index }));
    for (let attempt = 1; todo.length > 0; attempt++) {
      const { Responses = [] } = await this.doc.send(
        new BatchExecuteStatementCommand({ Statements: todo.map(({ entry }) => entry) }),
      );
      if (Responses.length !== todo.length)
        throw new Error(`BatchExecuteStatement answered ${Responses.length} of ${todo.length}`);
      const again: typeof todo = [];
      todo.forEach((entry, position) => {
        const error = Responses[position]?.Error;
        if (!error) outcomes[entry.index] = true;
        else if (RETRYABLE.has(error.Code ?? "") && attempt < RETRIES) again.push(entry);
        else if (!REFUSED.has(error.Code ?? ""))
          throw new Error(`PartiQL statement failed: ${error.Code}: ${error.Message}`);
      });
      if (again.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      todo = again;
    }
    return outcomes;
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

  async putLocalIf<T extends { readonly rev: number }>(
    name: string,
    value: T,
    expectedRev: number | undefined,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: LOCAL_PK, sk: name, value },
          ExpressionAttributeNames: { "#value": "value", "#rev": "rev" },
          ...(expectedRev === undefined
            ? { ConditionExpression: "attribute_not_exists(#value.#rev)" }
            : {
                ConditionExpression: "#value.#rev = :rev",
                ExpressionAttributeValues: { ":rev": expectedRev },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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

interface Statement {
  readonly Statement: string;
  readonly Parameters: unknown[];
}

/** The attempts for one item, in order (see applyBatch): the first, and those after it. */
function ladder(item: ConfigItem, insertFirst: boolean): { attempt: Attempt; rest: Attempt[] } {
  const updates: Attempt[] = !item.deleted && hasRunState(item.kind) ? ["revive"] : [];
  return insertFirst && !item.deleted
    ? { attempt: "insert", rest: ["update", ...updates] }
    : { attempt: "update", rest: [...updates, "insert", "update", ...updates] };
}

/** Attribute names go into the statement's text: only the table's plain names. */
const plain = (name: string) => {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`unexpected attribute ${name}`);
  return name;
};

/** One attempt of `applyBatch` as a PartiQL statement with its parameters. */
function statement(table: string, item: ConfigItem, attempt: Attempt): Statement {
  const record = Object.entries(storedRecord(item)).filter(([, value]) => value !== undefined);
  if (attempt === "insert") {
    const names = record.map(([name]) => `'${plain(name)}': ?`);
    return {
      Statement: `INSERT INTO "${table}" VALUE {${names.join(", ")}}`,
      Parameters: record.map(([, value]) => value),
    };
  }
  // UPDATE never writes `running` of a stored live item; "revive" sets it where none is stored.
  const set = record.filter(
    ([name]) => name !== "pk" && name !== "sk" && (name !== "running" || attempt === "revive"),
  );
  const remove = item.deleted ? ["data", "running", "gsi1pk", "gsi1sk"] : ["deleted"];
  const runState = !item.deleted && hasRunState(item.kind);
  const condition =
    attempt === "revive"
      ? ` AND "running" IS MISSING`
      : runState
        ? ` AND "running" IS NOT MISSING`
        : "";
  return {
    Statement:
      `UPDATE "${table}"${set.map(([name]) => ` SET "${plain(name)}" = ?`).join("")}` +
      `${remove.map((name) => ` REMOVE "${name}"`).join("")}` +
      ` WHERE "pk" = ? AND "sk" = ? AND "version" < ?${condition}`,
    Parameters: [...set.map(([, value]) => value), item.pk, item.sk, item.version],
  };
}

/**
 * What `apply` and `applyBatch` store for an item: a tombstone without data or run state, a
 * run-state kind with a boolean `running` (the one a new item gets), other kinds without one.
 */
function storedRecord(item: ConfigItem): Record<string, unknown> {
  const { data, running, ...rest } = toRecord(item);
  if (item.deleted) return rest;
  return { ...rest, data, ...(hasRunState(item.kind) ? { running: running === true } : {}) };
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
