import { createHash } from "node:crypto";
import { z } from "zod";

/** JSON with object keys sorted at every level and undefined left out: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

const MOD = 1n << 64n;
export const EMPTY_DIGEST = "0000000000000000";
/** A digest as text: what a peer's answer must hold where one is expected (R25). */
export const digestText = z.string().regex(/^[0-9a-f]{16}$/, { error: "must be 16 hex digits" });

/**
 * An order-independent digest of a set of records: the sum (mod 2^64) of each record's
 * SHA-256 prefix. Sums of parts add up, so scan segments and pages can be digested apart.
 */
export function recordDigest(record: unknown): string {
  return createHash("sha256").update(canonicalJson(record)).digest("hex").slice(0, 16);
}

export function addDigests(...digests: string[]): string {
  const sum = digests.reduce((acc, digest) => (acc + BigInt(`0x${digest}`)) % MOD, 0n);
  return sum.toString(16).padStart(16, "0");
}
