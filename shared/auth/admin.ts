import { createHash, timingSafeEqual } from "node:crypto";
import type { Credentials } from "../ports.ts";

/**
 * Decides whether a caller holds this server's admin credentials (SPEC §8): a fixed pair in
 * local mode, the admin secret (current or pending version) in the cloud.
 */
export interface AdminAuth {
  accepts(given: Credentials): Promise<boolean>;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Constant time in the length and content of both secrets: compare fixed-size digests. */
export function credentialsMatch(given: Credentials, expected: Credentials): boolean {
  const user = timingSafeEqual(digest(given.username), digest(expected.username));
  const password = timingSafeEqual(digest(given.password), digest(expected.password));
  return user && password;
}

/** Whether `given` matches any of `accepted`; every candidate is compared, so timing tells nothing. */
export const matchesAny = (given: Credentials, accepted: readonly Credentials[]) =>
  accepted.map((expected) => credentialsMatch(given, expected)).includes(true);

/** Local mode: one pair for the process's life. */
export const fixedAdmin = (admin: Credentials): AdminAuth => ({
  accepts: async (given) => credentialsMatch(given, admin),
});
