import { z } from "zod";
import * as entities from "../config/entities.ts";
import { type ConfigItem, isReplicated, type Kind } from "../model/items.ts";
import {
  domainInput,
  groupInput,
  name,
  serviceInput,
  triggerInput,
  userInput,
  username,
  webSettingsInput,
} from "../model/schemas.ts";
import type { HybridClock } from "../model/version.ts";
import type { ConfigStore } from "../ports.ts";
import { deleteDomainCascade } from "./cascade.ts";
import type { Change } from "./transform.ts";

/** What a stored item's data must look like, per kind (the API's input, as stored). */
const storedData: Record<Kind, z.ZodType> = {
  domain: domainInput,
  user: userInput
    .omit({ password: true })
    .extend({ passwordHash: z.string().startsWith("scrypt$").max(512) }),
  group: groupInput,
  service: serviceInput,
  web: webSettingsInput.omit({ enabled: true }),
  trigger: triggerInput,
  heartbeat: entities.heartbeat.schema,
};

const typeOf: Record<Kind, entities.EntityType> = {
  domain: entities.domains,
  user: entities.users,
  group: entities.groups,
  service: entities.services,
  web: entities.web,
  trigger: entities.triggers,
  heartbeat: entities.heartbeat,
};

/** The ids the admin API accepts, per kind: received items follow the same rules (R25). */
const idOf: Record<Kind, z.ZodType<string>> = {
  domain: name,
  user: username,
  group: name,
  service: name,
  web: z.literal("web"),
  trigger: name,
  heartbeat: z.literal("heartbeat"),
};

/** A received item: these attributes and no others (an extra `gsi1pk` would list a user as a domain). */
const receivedItem = z.strictObject({
  pk: z.string().max(300),
  sk: z.string().max(300),
  kind: z.enum(["domain", "user", "group", "service", "web", "trigger", "heartbeat"]),
  id: z.string().max(128),
  domain: name.optional(),
  version: z.number().int().positive(),
  origin: z.string().min(1).max(256),
  updatedAt: z.number().int().nonnegative(),
  deleted: z.literal(true).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  running: z.boolean().optional(),
});

/** How far ahead of this server's clock a received version may be (R8). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The envelope's view of an item: loose, so that one bad item is rejected on its own (R10)
 * by `problem`, not the whole batch.
 */
export const changeSchema = z.strictObject({
  item: z.looseObject({
    pk: z.string(),
    sk: z.string(),
    kind: z.enum(["domain", "user", "group", "service", "web", "trigger", "heartbeat"]),
    id: z.string(),
    domain: z.string().optional(),
    version: z.number().int().positive(),
    origin: z.string().min(1),
    updatedAt: z.number().int().nonnegative(),
    deleted: z.literal(true).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    running: z.boolean().optional(),
  }),
});

export type ApplyStatus = "applied" | "stale" | "rejected";
export interface ApplyResult {
  readonly status: ApplyStatus;
  readonly reason?: string;
  /** When the failover committed it (ms), for replication lag (R20). */
  readonly appliedAt: number;
}

const issue = (error: z.ZodError) =>
  `${error.issues[0]?.path.join(".")} ${error.issues[0]?.message}`.trim();

/**
 * Why an item cannot be stored here, or undefined when it is well-formed: the admin API's rules
 * for ids and data (R25), and a version at most MAX_CLOCK_SKEW_MS ahead of `now` (R8), so that
 * no peer can push an item, or this server's clock, beyond what a later change could outrank.
 */
export function problem(item: ConfigItem, now: number = Date.now()): string | undefined {
  if (!isReplicated(item)) return "not a replicated item";
  const shape = receivedItem.safeParse(item);
  if (!shape.success) return `invalid item: ${issue(shape.error)}`;
  const id = idOf[item.kind].safeParse(item.id);
  if (!id.success) return `invalid ${item.kind} id: ${issue(id.error)}`;
  if (item.version > (now + MAX_CLOCK_SKEW_MS) * 1000) {
    return `version ${item.version} is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of this server's clock`;
  }
  const type = typeOf[item.kind];
  const expected = type.key({
    id: item.id,
    ...(item.domain !== undefined ? { domain: item.domain } : {}),
  });
  if (expected.pk !== item.pk || expected.sk !== item.sk) return "key does not match kind and id";
  if (item.deleted) return undefined;
  if (!item.data) return "data is missing";
  const parsed = storedData[item.kind].safeParse(item.data);
  return parsed.success ? undefined : `invalid ${type.label}: ${issue(parsed.error)}`;
}

/**
 * The receiving side of every sync (R8): an item is written only over a lower version, a
 * tombstone blocks older writes, a domain's tombstone takes its items with it, and an existing
 * item keeps its own run state (R2, R13).
 */
export async function applyChange(
  store: ConfigStore,
  clock: HybridClock,
  change: Change,
  now: () => number = Date.now,
): Promise<ApplyResult> {
  const { item } = change;
  const reason = problem(item, now());
  if (reason) return { status: "rejected", reason, appliedAt: now() };
  clock.observe(item.version);
  const applied = await store.apply(item);
  if (applied && item.kind === "domain" && item.deleted) await deleteDomainCascade(store, item);
  return { status: applied ? "applied" : "stale", appliedAt: now() };
}
