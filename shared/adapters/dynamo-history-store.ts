import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { HistoryChange } from "../history/change.ts";
import type { HistoryStore, Page, PageRequest } from "../ports.ts";
import { decodeCursor, encodeCursor, withCursor } from "./dynamo-cursor.ts";

/** BatchWriteItem's limit, and how many such requests run side by side. */
const ITEMS_PER_REQUEST = 25;
const REQUESTS_IN_FLIGHT = 16;
const MAX_ATTEMPTS = 8;

/** Versions are below 10^20: padded to 20 digits they sort as numbers do. */
const versionKey = (version: number) => String(version).padStart(20, "0");

/** HistoryStore on its own DynamoDB table (history-table.ts). */
export class DynamoHistoryStore implements HistoryStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async record(changes: readonly HistoryChange[], expiresAt: number): Promise<void> {
    // BatchWriteItem refuses a request naming a key twice.
    const items = new Map(
      changes.map((change) => {
        const sk = `${versionKey(change.version)}#${change.key}`;
        return [`${change.scope}\n${sk}`, { ...change, pk: change.scope, sk, expiresAt }];
      }),
    );
    const puts = [...items.values()].map((Item) => ({ PutRequest: { Item } }));
    const requests: Record<string, unknown>[][] = [];
    for (let start = 0; start < puts.length; start += ITEMS_PER_REQUEST) {
      requests.push(puts.slice(start, start + ITEMS_PER_REQUEST));
    }
    for (let start = 0; start < requests.length; start += REQUESTS_IN_FLIGHT) {
      await Promise.all(requests.slice(start, start + REQUESTS_IN_FLIGHT).map((r) => this.put(r)));
    }
  }

  async list(
    scope: string,
    versions: { readonly after: number; readonly upTo: number },
    page: PageRequest,
  ): Promise<Page<HistoryChange>> {
    const { Items = [], LastEvaluatedKey } = await withCursor(page.cursor, () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :scope AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":scope": scope,
            ":from": versionKey(versions.after + 1),
            // "~" sorts after every character of an item key.
            ":to": `${versionKey(versions.upTo)}#~`,
          },
          ScanIndexForward: false,
          Limit: page.limit,
          ExclusiveStartKey: page.cursor ? decodeCursor(page.cursor) : undefined,
        }),
      ),
    );
    return {
      items: Items.map(
        ({ pk: _pk, sk: _sk, expiresAt: _expiresAt, ...change }) => change as HistoryChange,
      ),
      ...(LastEvaluatedKey ? { cursor: encodeCursor(LastEvaluatedKey) } : {}),
    };
  }

  /** One BatchWriteItem, its unprocessed items sent again with a growing pause. */
  private async put(items: Record<string, unknown>[]): Promise<void> {
    let pending = items;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > MAX_ATTEMPTS) throw new Error(`history: ${pending.length} changes not written`);
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      const { UnprocessedItems } = await this.doc.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
      );
      pending = (UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
    }
  }
}
