import { isIP } from "node:net";
import { z } from "zod";
import { plainWords } from "../errors.ts";
import { condition } from "../events/condition.ts";
import { isLoopback } from "./hosts.ts";

z.config({ customError: plainWords });

/** Names of domains, groups, services and triggers: what an MFT admin can type and a path can hold. */
export const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  error: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
});
export const username = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, {
  error: "must be 1-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
});
export const port = z.number().int().min(1).max(65535);

/** An IPv4 or IPv6 literal, normalized (IPv6 compressed, lower case) so equal IPs compare equal. */
export const ipAddress = z.string().transform((value, ctx) => {
  const kind = isIP(value);
  if (kind === 4) return value;
  if (kind === 6) return new URL(`http://[${value}]`).hostname.slice(1, -1);
  ctx.addIssue({ code: "custom", message: "must be an IPv4 or IPv6 address" });
  return z.NEVER;
});

/** A host name (RFC 1123) or an IP literal. */
export const host = z
  .string()
  .max(253)
  .refine(
    (value) =>
      isIP(value) !== 0 ||
      /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        value,
      ),
    { error: "must be a DNS name or an IP address" },
  );

/** Optimistic concurrency: the version the client read; the write fails with 409 if it moved on. */
const expectedVersion = z.number().int().positive().optional();

export const domainInput = z.strictObject({
  description: z.string().max(1024).default(""),
  limits: z
    .strictObject({
      maxUsers: z.number().int().min(0).optional(),
      maxSessions: z.number().int().min(0).optional(),
      maxStorageMb: z.number().int().min(0).optional(),
    })
    .default({}),
  version: expectedVersion,
});

export const userInput = z.strictObject({
  /** Plain text, hashed on write and never stored or returned as is. */
  password: z.string().min(8).max(1024).optional(),
  email: z.email().optional(),
  homeDirectory: z.string().startsWith("/", { error: "must be an absolute path" }).max(1024),
  enabled: z.boolean().default(true),
  groups: z.array(name).max(100).default([]),
  version: expectedVersion,
});

export const groupInput = z.strictObject({
  description: z.string().max(1024).default(""),
  version: expectedVersion,
});

export const protocols = ["SFTP", "FTP", "FTPS", "HTTPS", "AS2", "WEBDAV"] as const;
export const serviceInput = z.strictObject({
  protocol: z.enum(protocols),
  ip: ipAddress,
  port,
  version: expectedVersion,
});

export const webSettingsInput = z.strictObject({
  enabled: z.boolean(),
  port,
  version: expectedVersion,
});

// Trigger conditions (R17) are typed per variable (`<`/`>` only with Items, a number) and must
// compile to an EventBridge pattern: see shared/events/condition.ts.
export { type Comparison, type Condition, condition, eventVariables } from "../events/condition.ts";

const emailAction = z.strictObject({
  type: z.literal("email"),
  to: z.array(z.email()).min(1).max(20),
  subject: z.string().min(1).max(256),
  body: z.string().max(10_000).default(""),
});
/**
 * An HTTP action's header value: a template (`"X-Source": "mft {{Primary}}"`), or a secret sent
 * as given and never shown again (`"Authorization": {"secret": "Bearer …"}`). The API shows a
 * secret as `{"secret": true}`, and a PUT that sends `{"secret": true}` keeps the stored value
 * (shared/config/entities.ts), so what a GET returns can be PUT back as it is.
 */
export const headerValue = z.union(
  [
    z.string().max(1024),
    z.strictObject({
      secret: z.union([
        z
          .string()
          .min(1)
          .max(1024)
          .regex(/^[\t\x20-\x7e\x80-\xff]+$/, { error: "must not hold line breaks or controls" }),
        z.literal(true),
      ]),
    }),
  ],
  { error: 'must be a string, {"secret": "<value>"} or {"secret": true} (keep the stored one)' },
);
const httpAction = z.strictObject({
  type: z.literal("http"),
  url: z.url({ protocol: /^https?$/ }),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), headerValue).default({}),
  body: z.string().max(10_000).optional(),
  timeoutMs: z.number().int().min(100).max(30_000).default(5000),
  retries: z.number().int().min(0).max(10).default(2),
});
export const triggerInput = z.strictObject({
  event: z.literal("Failover Synchronization"),
  description: z.string().max(1024).default(""),
  enabled: z.boolean().default(true),
  condition: condition.optional(),
  actions: z
    .array(z.discriminatedUnion("type", [emailAction, httpAction]))
    .min(1)
    .max(10),
  version: expectedVersion,
});

/** Settings > Failover (R5). The password is write-only: it goes to the SecretStore. */
export const failoverSettingsInput = z
  .strictObject({
    enabled: z.boolean().default(false),
    host: host.optional(),
    port: port.default(443),
    useTls: z.boolean().default(true),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    username: z.string().min(1).max(128).optional(),
    password: z.string().min(1).max(1024).optional(),
    startAfterSync: z.boolean().default(false),
    autoSync: z.boolean().default(false),
    /** R9: how long the failover may stay unreachable before automatic sync is suspended. */
    suspendAfterSeconds: z.number().int().min(1).max(86_400).default(120),
    /** R9: resume by itself once the heartbeat's probe is answered again. */
    autoResume: z.boolean().default(true),
    ipSubstitutions: z
      .array(z.strictObject({ ip: ipAddress, substituteIp: ipAddress }))
      .max(1000)
      .default([]),
  })
  .superRefine((settings, ctx) => {
    const seen = new Set<string>();
    settings.ipSubstitutions.forEach((mapping, index) => {
      if (seen.has(mapping.ip)) {
        ctx.addIssue({
          code: "custom",
          path: ["ipSubstitutions", index, "ip"],
          message: "duplicate ip",
        });
      }
      seen.add(mapping.ip);
    });
    if (!settings.useTls && settings.host !== undefined && !isLoopback(settings.host)) {
      ctx.addIssue({
        code: "custom",
        path: ["useTls"],
        message: "plain http is allowed only to a loopback host",
      });
    }
  });
export type FailoverSettingsInput = z.infer<typeof failoverSettingsInput>;
export type FailoverSettings = Omit<FailoverSettingsInput, "password">;

/** A moment (R26): an ISO 8601 time with its offset, as epoch milliseconds. */
export const moment = z
  .string()
  .refine((value) => z.iso.datetime({ offset: true }).safeParse(value).success, {
    error: "must be an ISO 8601 time with its offset, e.g. 2026-12-07T10:00:00Z",
  })
  .transform((value) => Date.parse(value));

/** `POST …/rewind` (R26): back to `at`; `dryRun` answers what would change and writes nothing. */
export const rewindInput = z.strictObject({
  at: moment,
  dryRun: z.boolean({ error: "is required: true to see what would change, false to rewind" }),
});
