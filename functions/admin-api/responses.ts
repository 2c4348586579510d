import { z } from "zod";
import { protocols } from "../../shared/model/schemas.ts";

/**
 * What the admin API answers, as zod schemas: documented in the OpenAPI document and checked
 * against real answers by test/integration/openapi.test.ts. Loose objects: a new field is not a
 * breaking change, a missing or mistyped documented one is.
 */

/** A timestamp (ISO 8601), documented as `format: date-time` (checked by ajv-formats). */
const isoTime = z.string().meta({ format: "date-time" });
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

/** `{"error":{"code","message"}}`: every 4xx and 5xx (functions/http.ts jsonErrors). */
export const errorResponse = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});

export const health = z.strictObject({ status: z.literal("ok"), region: z.string() });

/** The part every stored item shows (shared/config/entities.ts `present`): updatedAt in epoch ms. */
const item = { version: z.number().int().positive(), updatedAt: z.number().int().nonnegative() };

export const domain = z.looseObject({
  name: z.string(),
  description: z.string(),
  running: z.boolean(),
  ...item,
});
export const user = z.looseObject({ username: z.string(), passwordSet: z.boolean(), ...item });
export const group = z.looseObject({ name: z.string(), description: z.string(), ...item });
export const service = z.looseObject({
  id: z.string(),
  protocol: z.enum(protocols),
  ip: z.string(),
  port: z.number().int(),
  ...item,
});
export const trigger = z.looseObject({
  id: z.string(),
  event: z.string(),
  enabled: z.boolean(),
  actions: z.array(z.looseObject({ type: z.enum(["email", "http"]) })),
  ...item,
});
/** Before the first PUT, version and updatedAt are absent: the defaults, never stored. */
export const webSettings = z.looseObject({
  id: z.literal("web"),
  enabled: z.boolean(),
  port: z.number().int(),
  version: item.version.optional(),
  updatedAt: item.updatedAt.optional(),
});

export const page = <T extends z.ZodType>(schema: T) =>
  z.strictObject({ items: z.array(schema), nextCursor: z.string().optional() });

export const failoverSettings = z.looseObject({
  enabled: z.boolean(),
  host: z.string().optional(),
  port: z.number().int(),
  useTls: z.boolean(),
  timeoutMs: z.number().int(),
  username: z.string().optional(),
  passwordSet: z.boolean(),
  startAfterSync: z.boolean(),
  autoSync: z.boolean(),
  suspendAfterSeconds: z.number().int(),
  autoResume: z.boolean(),
  ipSubstitutions: z.array(z.strictObject({ ip: z.string(), substituteIp: z.string() })),
});

const peerHello = z.looseObject({
  serverId: z.string(),
  protocol: z.number().int(),
  autoSync: z.boolean(),
});

export const connectionTest = z.union([
  z.looseObject({ ok: z.literal(true), peer: peerHello, latencyMs: z.number() }),
  z.looseObject({
    ok: z.literal(false),
    failed: z.string(),
    message: z.string(),
    latencyMs: z.number(),
  }),
]);

export const fullSync = z.looseObject({
  syncId: z.string(),
  state: z.enum(["running", "succeeded", "failed"]),
  step: z.string(),
  startedAt: isoTime,
  finishedAt: nullable(isoTime),
  durationMs: z.number(),
  domains: z.looseObject({ done: z.number(), total: nullable(z.number()) }),
  items: z.looseObject({ done: z.number(), total: nullable(z.number()) }),
  errors: z.array(z.string()),
});

const driftSummary = z.looseObject({
  checkedAt: isoTime,
  differences: z.number().int(),
  pending: z.number().int().optional(),
});

export const status = z.looseObject({
  module: z.looseObject({ enabled: z.boolean(), autoSync: z.boolean() }),
  sync: z.looseObject({ state: z.enum(["off", "active", "suspended"]) }),
  connection: nullable(
    z.looseObject({ state: z.enum(["connected", "unreachable"]), since: isoTime }),
  ),
  heartbeat: z.looseObject({
    intervalSeconds: nullable(z.number()),
    lastSentAt: nullable(isoTime),
    lastAppliedAt: nullable(isoTime),
    lagMs: nullable(z.number()),
    missed: z.boolean(),
  }),
  receiving: nullable(
    z.looseObject({
      from: z.string(),
      lastHeartbeatAt: isoTime,
      ageSeconds: z.number(),
      missed: z.boolean(),
    }),
  ),
  lastReceived: nullable(z.looseObject({ from: z.string(), at: isoTime, items: z.number().int() })),
  queue: z.looseObject({
    queued: z.number().int(),
    inFlight: z.number().int(),
    deadLettered: z.number().int(),
  }),
  lag: z.looseObject({
    windowSeconds: z.number(),
    samples: z.number().int(),
    p50Ms: nullable(z.number()),
    p99Ms: nullable(z.number()),
  }),
  lastEvent: nullable(z.looseObject({})),
  lastFullSync: nullable(fullSync),
  lastVerify: nullable(driftSummary),
  lastTakeover: nullable(z.looseObject({ at: isoTime, by: z.string() })),
  series: z
    .looseObject({
      stepSeconds: z.number().int(),
      windowSeconds: z.number().int(),
      points: z.array(
        z.looseObject({
          at: isoTime,
          lagP50Ms: nullable(z.number()),
          lagP99Ms: nullable(z.number()),
          queued: z.number().int(),
          inFlight: z.number().int(),
          deadLettered: z.number().int(),
        }),
      ),
    })
    .meta({
      description:
        "The last hour, oldest first, a point a minute (taken by the heartbeat): the lag of the changes applied in the minute before `at`, and the queue's depths then",
    }),
});

export const drift = z.looseObject({
  checkedAt: isoTime,
  durationMs: z.number(),
  differences: z.number().int(),
  pending: z.number().int(),
  truncated: z.boolean(),
  domains: z.array(
    z.looseObject({
      domain: nullable(z.string()),
      missing: z.array(z.string()),
      extra: z.array(z.string()),
      different: z.array(z.looseObject({ id: z.string(), fields: z.array(z.string()) })),
      pending: z.array(z.string()),
    }),
  ),
});

export const repair = z.looseObject({
  repairId: z.string(),
  items: z.number().int(),
  refused: z.array(
    z.looseObject({ domain: nullable(z.string()), id: z.string(), reason: z.string() }),
  ),
});
export const syncStarted = z.looseObject({ syncId: z.string() });
export const fenceCleared = z.looseObject({
  cleared: z
    .looseObject({ syncId: z.string(), fence: z.number().int(), lockedAt: z.string() })
    .nullable(),
});
export const takeover = z.looseObject({
  at: isoTime,
  by: z.string(),
  domainsStarted: z.number().int(),
  webEnabled: z.boolean(),
});
export const failback = z.looseObject({
  failbackId: z.string(),
  state: z.enum(["running", "succeeded", "failed"]),
  step: z.string(),
  steps: z.array(z.looseObject({ name: z.string(), state: z.string() })),
  startedAt: isoTime,
});

/** The receiving side (`/api/sync/...`): the peer protocol, answered to the peer server only. */
/** R26: a change as history lists it (no item data: `fields` names what it changed). */
const historyChange = z.strictObject({
  at: isoTime,
  domain: nullable(z.string()),
  id: z.string(),
  op: z.enum(["put", "delete"]),
  version: item.version,
  origin: z.string(),
  fields: z.array(z.string()),
});
export const history = z.strictObject({
  items: z.array(historyChange),
  cursor: nullable(z.string()),
});
export const domainSnapshot = z.looseObject({
  at: isoTime,
  domain: nullable(domain),
  users: z.array(user),
  groups: z.array(group),
  services: z.array(service),
});
export const settingsSnapshot = z.looseObject({
  at: isoTime,
  web: nullable(webSettings),
  triggers: z.array(trigger),
});
export const rewind = z.looseObject({
  at: isoTime,
  dryRun: z.boolean(),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.looseObject({ id: z.string(), fields: z.array(z.string()) })),
  /**
   * The real run: how many items were written, those a newer change made meanwhile kept, and
   * how many are left when the answer had to leave first (run the same rewind again).
   */
  applied: z.number().int().nonnegative().optional(),
  skipped: z.array(z.string()).optional(),
  remaining: z.number().int().nonnegative().optional(),
});

export const peer = { hello: peerHello, answer: z.looseObject({}) };
