import { canonicalJson } from "../sync/full/digest.ts";
import type { ConfigItem } from "./items.ts";

/**
 * The fields of two items' data that differ, by name (a password hash is reported as
 * `password`, the field an admin writes). Run state, version and origin are not data (R13).
 */
export function differentFields(
  ours: Pick<ConfigItem, "data"> | undefined,
  theirs: Pick<ConfigItem, "data"> | undefined,
): string[] {
  const a = ours?.data ?? {};
  const b = theirs?.data ?? {};
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((field) => canonicalJson(a[field]) !== canonicalJson(b[field]))
    .map((field) => (field === "passwordHash" ? "password" : field))
    .sort();
}
