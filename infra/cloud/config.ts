import { readFileSync } from "node:fs";
import { z } from "zod";
import { allowHostList } from "../../shared/adapters/safe-http.ts";

/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region name such as us-east-1");

/**
 * The one typed configuration of the cloud deployment. Both regions deploy the same stack;
 * which one is production is a runtime setting (SPEC R19), so "production" and "failover" here
 * only name the two regions at first and the way docs/cloud.md wires them together.
 */
export const cloudConfigSchema = z
  .object({
    /** Where production runs at first, e.g. `us-east-1`. */
    productionRegion: region,
    /** Where the failover runs at first, e.g. `us-west-2`. */
    failoverRegion: region,
    /** Who the R22 alarms email (an SNS email subscription, confirmed by a click). */
    alarmEmail: z.email("must be an email address for the alarm notifications"),
    /** The AWS account for both stacks. Default: the CLI's current account (CDK_DEFAULT_ACCOUNT). */
    account: z
      .string()
      .regex(/^\d{12}$/, "must be a 12-digit AWS account id")
      .optional(),
    /**
     * Stack names are `${stackPrefix}-${region}`. It also names what a stack shares with others
     * in its account and region: its secrets are under `${stackPrefix}/` (the failover password
     * is `${stackPrefix}/failover-password`) and its metrics in the CloudWatch namespace
     * `${stackPrefix}`, so a staging deployment beside production needs only its own prefix.
     */
    stackPrefix: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,29}$/,
        "must be 1-30 letters, digits or '-', starting with a letter",
      )
      .default("MftFailover"),
    /**
     * CloudWatch Logs retention of every log group, in days: longer than anything the pipeline
     * keeps (its queues: 14 days). An account that enforces Control Tower's CT.CLOUDWATCH.PR.2
     * sets 365 or more.
     * @default 30
     */
    logRetentionDays: z.coerce
      .number()
      .refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of ${RETENTION_DAYS.join(", ")}`,
      })
      .default(30),
    /**
     * How long each server's history keeps a configuration change (R26): how far back a
     * rewind can go. The history table's TTL ends it.
     * @default 7
     */
    historyRetentionDays: z.coerce
      .number()
      .int("must be a whole number of days")
      .min(1, "must be at least 1 day")
      .max(365, "must be at most 365 days")
      .default(7),
    /**
     * X-Ray active tracing of every function (`true`, or `-c tracing=true`). Lambda then samples
     * the first request each second and 5% beyond: for a trickle of changes nearly every
     * invocation is a billed trace. Off, a function is traced only when a traced caller sampled
     * it: the state machines (full sync, failback), which always trace, are seen with their tasks.
     * @default false
     */
    tracing: z
      .union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")], {
        error: "must be true or false",
      })
      .default(false),
    /**
     * Trigger emails (R17) go through SES from this address, an identity (the address or its
     * domain) verified in both regions. Without it they go to an SNS topic the stack creates,
     * whose email subscriptions deliver them.
     */
    mailFrom: z.email("must be the email address of a verified SES identity").optional(),
    /** The SES configuration set to send trigger emails with (only with mailFrom). */
    sesConfigurationSet: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be an SES configuration set name")
      .optional(),
    /**
     * Hosts that trigger HTTP actions (R17) may reach even at a loopback, link-local, private or
     * shared address: host names or IP literals, matched exactly against an action's URL host
     * (the trigger-actions function's HTTP_ALLOW_HOSTS). A JSON array, or comma-separated with -c.
     */
    httpAllowHosts: allowHostList.optional(),
  })
  .strict()
  .refine((config) => config.productionRegion !== config.failoverRegion, {
    path: ["failoverRegion"],
    message: "must differ from productionRegion: the failover lives in another region",
  })
  .refine((config) => config.sesConfigurationSet === undefined || config.mailFrom !== undefined, {
    path: ["sesConfigurationSet"],
    message: "needs mailFrom: a configuration set applies to email sent through SES",
  });

export type CloudConfig = z.infer<typeof cloudConfigSchema>;

/** The context keys read from `-c key=value` (or cdk.json), overriding the `-c config=file.json` file. */
export const CONTEXT_KEYS = [
  "productionRegion",
  "failoverRegion",
  "alarmEmail",
  "account",
  "stackPrefix",
  "logRetentionDays",
  "historyRetentionDays",
  "tracing",
  "mailFrom",
  "sesConfigurationSet",
  "httpAllowHosts",
] as const;

/**
 * `productionRegion`'s name before the code took the operators' word: still read (a file or -c),
 * with a warning, so existing config files and scripts keep deploying.
 */
const DEPRECATED_KEY = "primaryRegion";

export class CloudConfigError extends Error {
  override readonly name = "CloudConfigError";
}

const HOW_TO =
  "Set them with `-c productionRegion=us-east-1 -c failoverRegion=us-west-2 -c alarmEmail=ops@example.com` " +
  "or put them in a JSON file and pass `-c config=path/to/config.json`.";

/**
 * Reads the configuration from CDK context: the file named by `config` (if any), then each
 * key given on its own. Throws a CloudConfigError that names every missing or invalid key;
 * `warn` hears of a deprecated key.
 */
export function loadCloudConfig(
  getContext: (key: string) => unknown,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
  warn: (message: string) => void = (message) => console.warn(`mft-failover: ${message}`),
): CloudConfig {
  const raw: Record<string, unknown> = {};
  /** One source's keys, `primaryRegion` read as `productionRegion`. */
  const take = (values: Record<string, unknown>, where: string) => {
    const { [DEPRECATED_KEY]: old, ...rest } = values;
    if (old !== undefined) {
      if (rest.productionRegion !== undefined)
        throw new CloudConfigError(
          `${DEPRECATED_KEY}: is the old name of productionRegion; ${where} gives both, keep productionRegion only`,
        );
      warn(`${DEPRECATED_KEY} (${where}) is deprecated: rename it productionRegion`);
      rest.productionRegion = old;
    }
    Object.assign(raw, rest);
  };
  const file = getContext("config");
  if (file !== undefined) {
    if (typeof file !== "string" || file === "") {
      throw new CloudConfigError("config: must be the path of a JSON file");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFile(file));
    } catch (error) {
      throw new CloudConfigError(
        `config: cannot read ${file} as JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new CloudConfigError(`config: ${file} must hold a JSON object`);
    }
    take(parsed as Record<string, unknown>, file);
  }
  const given: Record<string, unknown> = {};
  for (const key of [...CONTEXT_KEYS, DEPRECATED_KEY]) {
    const value = getContext(key);
    if (value !== undefined) given[key] = value;
  }
  take(given, "-c");
  const result = cloudConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join(".") || "config";
    const missing = issue.path.length === 1 && raw[String(issue.path[0])] === undefined;
    return `  ${key}: ${missing ? "is required" : issue.message}`;
  });
  throw new CloudConfigError(`invalid cloud configuration:\n${problems.join("\n")}\n${HOW_TO}`);
}
