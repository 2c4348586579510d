import { invalid } from "../errors.ts";

/** Opaque page cursors over DynamoDB's LastEvaluatedKey (the config store's and the bulk store's). */
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
