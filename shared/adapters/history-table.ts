import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The history table's shape (R26), created by the local runtime and mirrored by the CDK store
 * construct: a scope's changes (`pk`: `DOMAIN#<name>` or `SERVER`) ordered by version (`sk`:
 * the version, zero-padded, then the item's key). No stream: nothing reacts to history. In the
 * cloud its TTL attribute `expiresAt` ends the retention period.
 */
export function historyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  };
}
