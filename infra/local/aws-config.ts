import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { SQSClient } from "@aws-sdk/client-sqs";

/** Local mode's fixed AWS settings: DynamoDB Local wants alphanumeric keys; nothing leaves 127.0.0.1. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

/** SDK settings of a local region; its region name selects its own DynamoDB Local database. */
export interface LocalAwsConfig {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Sees every AWS SDK client local mode creates (benchmarks count billable requests). */
export type InstrumentClient = (client: DynamoDBClient | SQSClient | DynamoDBStreamsClient) => void;
