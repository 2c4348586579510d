import type {
  _Record,
  AttributeValue as SdkAttributeValue,
} from "@aws-sdk/client-dynamodb-streams";
import type { AttributeValue, DynamoDBRecord } from "aws-lambda";

/**
 * DynamoDB Streams records as Lambda's event source mapping hands them to a function: the
 * Streams API's shape (SDK-decoded) turned into the event's plain JSON, so local handlers get
 * exactly what they get in the cloud.
 */

/** The record as Lambda puts it in the event: plain JSON, creation time in epoch seconds. */
export function toLambdaRecord(record: _Record, eventSourceARN: string): DynamoDBRecord {
  const change = record.dynamodb;
  const created = change?.ApproximateCreationDateTime;
  return withoutUndefined({
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? "1.1",
    eventSource: record.eventSource ?? "aws:dynamodb",
    awsRegion: record.awsRegion,
    dynamodb:
      change &&
      withoutUndefined({
        ApproximateCreationDateTime: created && Math.floor(created.getTime() / 1000),
        Keys: toJsonImage(change.Keys),
        NewImage: toJsonImage(change.NewImage),
        OldImage: toJsonImage(change.OldImage),
        SequenceNumber: change.SequenceNumber,
        SizeBytes: change.SizeBytes,
        StreamViewType: change.StreamViewType,
      }),
    eventSourceARN,
    // TTL deletions carry the service identity, in Lambda's lower-case keys.
    userIdentity: record.userIdentity && {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    },
  });
}

function toJsonImage(
  image: Record<string, SdkAttributeValue> | undefined,
): Record<string, AttributeValue> | undefined {
  if (!image) return undefined;
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, toJsonValue(value)]),
  );
}

/** The SDK decodes binaries to bytes; Lambda's event carries them base64-encoded. */
function toJsonValue(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  if (value.M !== undefined) return { M: toJsonImage(value.M) ?? {} };
  // The SDK's DynamoDB Streams client decodes an empty map `{"M":{}}` as `{}`.
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  throw new Error(`Unsupported attribute value ${JSON.stringify(value)}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

export function sequenceNumber(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? "";
}

/** Sequence numbers are decimal strings of varying length: compare them as numbers. */
export function compareSequenceNumbers(a: string, b: string): number {
  const difference = BigInt(a || 0) - BigInt(b || 0);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

/** Lambda's JSON events omit absent fields rather than carrying them as null. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
