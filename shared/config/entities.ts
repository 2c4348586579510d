import { z } from "zod";
import { invalid } from "../errors.ts";
import {
  type ConfigItem,
  childKey,
  childPrefix,
  domainKey,
  domainPk,
  heartbeatKey,
  type ItemKey,
  type Kind,
  SERVER_PARTITION,
  TRIGGER_PREFIX,
  triggerKey,
  webKey,
} from "../model/items.ts";
import { hashPassword } from "../model/password.ts";
import {
  domainInput,
  groupInput,
  serviceInput,
  triggerInput,
  userInput,
  webSettingsInput,
} from "../model/schemas.ts";

type Data = Record<string, unknown>;

/** Where an entity sits: its domain (for domain-scoped kinds) and its own name or id. */
export interface Scope {
  readonly domain?: string;
  readonly id: string;
}

/**
 * What differs between the entity kinds; everything else (versions, conflicts, tombstones,
 * listing) is the same code in ConfigService.
 */
export interface EntityType {
  readonly kind: Kind;
  /** Used in messages: "user alice not found". */
  readonly label: string;
  /** The field that carries the id in API responses ("name", "username", "id"). */
  readonly idField: string;
  readonly schema: z.ZodType<Data & { version?: number | undefined }>;
  key(scope: Scope): ItemKey;
  /** The partition and sort-key prefix that list this kind. */
  listing(domain: string | undefined): { pk: string; skPrefix: string };
  /** Turns validated input into stored data, given what is stored now. */
  toData(input: Data, previous: Data | undefined): Promise<Data> | Data;
  /** What the API shows (never a password hash, never a secret header's value). */
  view(data: Data): Data;
  /**
   * What the code that uses write-only values sees (trigger actions send the secret headers);
   * never an API response. @default view
   */
  readonly viewWithSecrets?: (data: Data) => Data;
  /** The API field that shows the item's run state (R2), kept outside its versioned data. */
  readonly runState?: "running" | "enabled";
  /**
   * Other items the input names, which must exist when the admin API writes it (a 400 naming
   * the field otherwise). Only there: a sync applies what production had, in whatever order
   * its changes arrive.
   */
  readonly references?: (input: Data, scope: Scope) => readonly Reference[];
}

/** An item that the input's `field` names. */
export interface Reference {
  readonly field: string;
  readonly type: EntityType;
  readonly scope: Scope;
}

const identity = (data: Data) => data;
const domainScoped = (kind: "user" | "group" | "service") => ({
  key: (scope: Scope) => childKey(requireDomain(scope), kind, scope.id),
  listing: (domain: string | undefined) => ({
    pk: domainPk(domain ?? ""),
    skPrefix: childPrefix(kind),
  }),
});

function requireDomain(scope: Scope): string {
  if (scope.domain === undefined) throw new Error("domain-scoped entity without a domain");
  return scope.domain;
}

export const domains: EntityType = {
  kind: "domain",
  idField: "name",
  label: "domain",
  schema: domainInput,
  key: (scope) => domainKey(scope.id),
  listing: () => ({ pk: "", skPrefix: "" }),
  toData: identity,
  view: identity,
  // Not part of the input: a new domain is stopped, an update keeps it, start/stop change it.
  runState: "running",
};

export const users: EntityType = {
  kind: "user",
  idField: "username",
  label: "user",
  schema: userInput,
  ...domainScoped("user"),
  async toData(input, previous) {
    const { password, ...rest } = input;
    const passwordHash =
      typeof password === "string" ? await hashPassword(password) : previous?.passwordHash;
    if (passwordHash === undefined) throw invalid("password", "is required when creating a user");
    return { ...rest, passwordHash };
  },
  view: ({ passwordHash, ...rest }) => ({ ...rest, passwordSet: passwordHash !== undefined }),
  // A user's groups are groups of its own domain.
  references: (input, scope) =>
    ((input.groups ?? []) as string[]).map((id) => ({
      field: "groups",
      type: groups,
      scope: { domain: requireDomain(scope), id },
    })),
};

export const groups: EntityType = {
  kind: "group",
  idField: "name",
  label: "group",
  schema: groupInput,
  ...domainScoped("group"),
  toData: identity,
  view: identity,
};

export const services: EntityType = {
  kind: "service",
  idField: "id",
  label: "service",
  schema: serviceInput,
  ...domainScoped("service"),
  toData: identity,
  view: identity,
};

export const web: EntityType = {
  kind: "web",
  idField: "id",
  label: "web settings",
  schema: webSettingsInput,
  key: () => webKey,
  listing: () => ({ pk: SERVER_PARTITION, skPrefix: webKey.sk }),
  toData: identity,
  view: identity,
  // `enabled` is part of the input, but stored as run state, outside the versioned data.
  runState: "enabled",
};

/** How the API shows a secret header (R17): that it is set, never its value. */
const SECRET_SET = { secret: true } as const;
const isSecretSet = (value: unknown) =>
  typeof value === "object" && value !== null && (value as { secret?: unknown }).secret === true;

type HeaderValue = string | { secret: string | true };
interface StoredAction {
  type?: unknown;
  url?: unknown;
  headers?: Record<string, HeaderValue>;
}

/** The origin (scheme, host, port) of an action's url template, if it parses. */
function originOf(url: unknown): string | undefined {
  try {
    return typeof url === "string" ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves every `{"secret": true}` header of the input to the value stored for the same header
 * of the same action (by index). A secret is kept only while that action's url keeps its origin:
 * it goes only where it was given for, so a PUT that changes the host must give it again (as the
 * failover password). A header with nothing to keep is a 400 naming it.
 */
function keepSecretHeaders(input: Data, previous: Data | undefined): Data {
  const actions = input.actions as StoredAction[];
  const before = (previous?.actions ?? []) as StoredAction[];
  return {
    ...input,
    actions: actions.map((action, index) => {
      if (action.type !== "http" || !action.headers) return action;
      const headers: Record<string, HeaderValue> = {};
      for (const [name, value] of Object.entries(action.headers)) {
        if (!isSecretSet(value)) {
          headers[name] = value;
          continue;
        }
        const field = `actions[${index}].headers.${name}`;
        const old = before[index];
        const stored = old?.type === "http" ? old.headers?.[name] : undefined;
        if (typeof stored !== "object" || typeof stored.secret !== "string") {
          throw invalid(field, 'has no stored secret to keep: give it as {"secret": "<value>"}');
        }
        if (originOf(old?.url) !== originOf(action.url)) {
          throw invalid(
            field,
            'a secret is kept only while the url keeps its scheme, host and port: give it again as {"secret": "<value>"}',
          );
        }
        headers[name] = stored;
      }
      return { ...action, headers };
    }),
  };
}

/** A trigger's data with each secret header's stored value (`{"secret": …}`) replaced by `replace`'s. */
export function replaceSecretHeaders(data: Data, replace: (stored: object) => unknown): Data {
  if (!Array.isArray(data.actions)) return data;
  return {
    ...data,
    actions: (data.actions as StoredAction[]).map((action) => {
      if (typeof action !== "object" || action === null || !action.headers) return action;
      const headers = Object.fromEntries(
        Object.entries(action.headers).map(([name, value]) => [
          name,
          typeof value === "object" && value !== null ? replace(value) : value,
        ]),
      );
      return { ...action, headers };
    }),
  };
}

/** A trigger as the API shows it: each secret header as `{"secret": true}`. */
const maskSecretHeaders = (data: Data) => replaceSecretHeaders(data, () => SECRET_SET);

export const triggers: EntityType = {
  kind: "trigger",
  idField: "id",
  label: "trigger",
  schema: triggerInput,
  key: (scope) => triggerKey(scope.id),
  listing: () => ({ pk: SERVER_PARTITION, skPrefix: TRIGGER_PREFIX }),
  // Secret header values are stored as given and replicated as stored (the failover runs the
  // same triggers after a takeover), but never shown.
  toData: keepSecretHeaders,
  view: maskSecretHeaders,
  viewWithSecrets: identity,
};

/** Production's heartbeat (R20): not in the API, but stored and applied like any item. */
export const heartbeat: EntityType = {
  kind: "heartbeat",
  idField: "id",
  label: "heartbeat",
  schema: z.strictObject({ intervalSeconds: z.number().int().positive().max(86_400) }),
  key: () => heartbeatKey,
  listing: () => ({ pk: SERVER_PARTITION, skPrefix: heartbeatKey.sk }),
  toData: identity,
  view: identity,
};

/** How a read shows an item. */
export interface ReadOptions {
  /**
   * Write-only values as stored (`viewWithSecrets`): for the code that uses them (trigger
   * actions), never for a response.
   */
  readonly withSecrets?: boolean;
}

/** The API's representation of a stored item: its id, its data as the kind shows it, its version. */
export function present(type: EntityType, item: ConfigItem, options: ReadOptions = {}): Data {
  const view = (options.withSecrets && type.viewWithSecrets) || type.view;
  return {
    [type.idField]: item.id,
    ...view(item.data ?? {}),
    ...(type.runState ? { [type.runState]: item.running === true } : {}),
    version: item.version,
    updatedAt: item.updatedAt,
  };
}
