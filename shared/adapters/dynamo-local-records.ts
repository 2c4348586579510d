import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { LOCAL_PK } from "../model/items.ts";

/**
 * A server's LOCAL records (R3): its own state (locks, runs, outcomes, status), kept in the
 * config table's LOCAL partition, never versioned and never synced.
 */
export class DynamoLocalRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get<T>(name: string): Promise<T | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: LOCAL_PK, sk: name },
        ConsistentRead: true,
      }),
    );
    return Item?.value as T | undefined;
  }

  async put<T>(name: string, value: T, options: { readonly expiresAt?: number } = {}) {
    // expiresAt (epoch seconds) is the table's TTL attribute: short-lived records clean themselves up.
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: LOCAL_PK, sk: name, value, expiresAt: options.expiresAt },
      }),
    );
  }

  async putIf<T extends { readonly rev: number }>(
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

  async list<T>(prefix: string, from: string, limit: number): Promise<T[]> {
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
}
