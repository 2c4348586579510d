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
import { historyTableDefinition } from "../../../shared/adapters/history-table.ts";
import { DEFAULT_HISTORY_DAYS } from "../../../shared/history/change.ts";
import type { MftFunction } from "./mft-function.ts";

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
  /**
   * How long history keeps a change (R26), in days.
   * @default 7
   */
  readonly historyDays?: number;
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

/** What a function running the server's services does with the history table (R26). */
export type HistoryAccess = "none" | "record" | "read";

/**
 * The server's two tables. The configuration table, built from `configTableDefinition()` (the
 * one shape the local runtime creates too): pk/sk, the sparse `domains` index, the
 * NEW_AND_OLD_IMAGES stream that capture reads. The history table (R26), from
 * `historyTableDefinition()`: every stored change with the item it replaced, kept
 * `historyDays` by TTL. Plus what only the cloud has: point-in-time recovery, KMS encryption,
 * deletion protection, TTL on `expiresAt`.
 */
export class Store extends Construct {
  readonly table: Table;
  readonly historyTable: Table;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: StoreProps = {},
  ) {
    super(scope, id);
    this.table = this.tableOf("Table", configTableDefinition("unused"));
    this.historyTable = this.tableOf("History", historyTableDefinition("unused"));
  }

  /**
   * `HISTORY_TABLE_NAME` and `HISTORY_DAYS`, which every function running the server's services
   * reads (functions/cloud.ts), with the access it needs: capture records, the admin API reads.
   */
  bindHistory(fn: MftFunction, access: HistoryAccess): void {
    fn.bindEnv("HISTORY_DAYS", String(this.props.historyDays ?? DEFAULT_HISTORY_DAYS));
    fn.bindEnv("HISTORY_TABLE_NAME", this.historyTable.tableName, (grantee) => {
      if (access === "record") return this.historyTable.grant(grantee, "dynamodb:BatchWriteItem");
      if (access === "read") return this.historyTable.grant(grantee, "dynamodb:Query");
      return undefined;
    });
  }

  private tableOf(id: string, definition: Definition): Table {
    const keys = definition.KeySchema ?? [];
    const viewType = definition.StreamSpecification?.StreamViewType;
    const stream = viewType === undefined ? undefined : STREAM_VIEWS[viewType];
    if (definition.BillingMode !== "PAY_PER_REQUEST" || (viewType !== undefined && !stream)) {
      throw new Error("Store expects on-demand tables: update the Store construct");
    }
    const table = new Table(this, id, {
      partitionKey: attribute(definition, keys, "HASH"),
      sortKey: attribute(definition, keys, "RANGE"),
      billingMode: BillingMode.PAY_PER_REQUEST,
      ...(stream ? { stream } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: this.props.deletionProtection ?? true,
      removalPolicy: this.props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Short-lived LOCAL records (full-sync runs and progress, lag batches) and history's
      // changes carry expiresAt in epoch seconds and clean themselves up. The config table's
      // TTL deletions reach its stream, where no consumer sees them: capture and trigger-rules
      // filter out LOCAL.
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      const indexKeys = index.KeySchema ?? [];
      if (!index.IndexName || index.Projection?.ProjectionType !== "ALL") {
        throw new Error("Store expects named indexes projecting ALL: update the Store construct");
      }
      table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        partitionKey: attribute(definition, indexKeys, "HASH"),
        sortKey: attribute(definition, indexKeys, "RANGE"),
        projectionType: ProjectionType.ALL,
      });
    }
    return table;
  }
}
