import { RemovalPolicy } from "aws-cdk-lib";
import {
  type Attribute,
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { configTableDefinition } from "../../../shared/adapters/config-table.ts";

export interface StoreProps {
  /**
   * Refuse DeleteTable (and so `cdk destroy`) until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * What CloudFormation does with the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN (a server's whole configuration lives here)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The table's TTL attribute (what DynamoConfigStore.putLocal writes). Cloud only: TTL is not
 * part of CreateTable, and the local runtime leaves it off on purpose (DynamoDB Local 3.3 emits
 * TTL deletions on the stream with an eventName the stream consumers do not know).
 */
export const TTL_ATTRIBUTE = "expiresAt";

type Definition = ReturnType<typeof configTableDefinition>;

const ATTRIBUTE_TYPES: Record<string, AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};
const STREAM_VIEWS: Record<string, StreamViewType> = {
  NEW_AND_OLD_IMAGES: StreamViewType.NEW_AND_OLD_IMAGES,
  NEW_IMAGE: StreamViewType.NEW_IMAGE,
  OLD_IMAGE: StreamViewType.OLD_IMAGE,
  KEYS_ONLY: StreamViewType.KEYS_ONLY,
};
type KeySchema = NonNullable<Definition["KeySchema"]>;

function attribute(definition: Definition, keys: KeySchema, keyType: "HASH" | "RANGE"): Attribute {
  const name = keys.find((key) => key.KeyType === keyType)?.AttributeName;
  const declared = definition.AttributeDefinitions?.find((a) => a.AttributeName === name);
  const type = ATTRIBUTE_TYPES[declared?.AttributeType ?? ""];
  if (!name || !type) throw new Error(`configTableDefinition() has no typed ${keyType} key`);
  return { name, type };
}

/**
 * The server's configuration table, built from `configTableDefinition()` (the one shape the
 * local runtime creates too): pk/sk, the sparse `domains` index, the NEW_AND_OLD_IMAGES stream
 * that capture reads; plus what only the cloud has: point-in-time recovery, KMS encryption,
 * deletion protection, TTL on `expiresAt`.
 */
export class Store extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StoreProps = {}) {
    super(scope, id);
    const definition = configTableDefinition("unused");
    const keys = definition.KeySchema ?? [];
    const stream = STREAM_VIEWS[definition.StreamSpecification?.StreamViewType ?? ""];
    if (definition.BillingMode !== "PAY_PER_REQUEST" || stream === undefined) {
      throw new Error("Store expects an on-demand table with a stream: update the Store construct");
    }
    this.table = new Table(this, "Table", {
      partitionKey: attribute(definition, keys, "HASH"),
      sortKey: attribute(definition, keys, "RANGE"),
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Short-lived LOCAL records (full-sync runs and progress, lag batches) carry expiresAt in
      // epoch seconds (DynamoConfigStore.putLocal) and clean themselves up. Their TTL deletions
      // reach the stream, where no consumer sees them: capture and trigger-rules filter out LOCAL.
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      const indexKeys = index.KeySchema ?? [];
      if (!index.IndexName || index.Projection?.ProjectionType !== "ALL") {
        throw new Error("Store expects named indexes projecting ALL: update the Store construct");
      }
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        partitionKey: attribute(definition, indexKeys, "HASH"),
        sortKey: attribute(definition, indexKeys, "RANGE"),
        projectionType: ProjectionType.ALL,
      });
    }
  }
}
