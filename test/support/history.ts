import type { AdminClient } from "../../bin/api-client.ts";

/** Shapes of the rewind routes (SPEC §8, R26) that the tests read. */
export interface Snapshot {
  at: string;
  domain: Record<string, unknown> | null;
  users: Record<string, unknown>[];
  groups: Record<string, unknown>[];
  services: Record<string, unknown>[];
}
export interface Rewind {
  dryRun: boolean;
  added: string[];
  removed: string[];
  changed: { id: string; fields: string[] }[];
  applied?: number;
}
export interface HistoryPage {
  items: { at: string; id: string; op: string; origin: string; fields: string[] }[];
  cursor: string | null;
}

/** Items as their GET routes show them, without versions, times and run state (not data, R2). */
const strip = (items: Record<string, unknown>[]) =>
  items.map(({ version: _v, updatedAt: _u, running: _r, ...rest }) => rest);

/** A domain's configuration as its GET routes show it: `{ domain: null }` when it has none. */
export async function configOf(client: AdminClient, domain: string) {
  const list = async (kind: string) =>
    strip(
      (
        await client.request<{ items: Record<string, unknown>[] }>(
          "GET",
          `/api/domains/${domain}/${kind}?limit=1000`,
        )
      ).items,
    );
  const domainItem = await client
    .request<Record<string, unknown>>("GET", `/api/domains/${domain}`)
    .catch(() => undefined);
  if (!domainItem) return { domain: null };
  return {
    domain: strip([domainItem])[0],
    users: await list("users"),
    groups: await list("groups"),
    services: await list("services"),
  };
}
export type DomainConfig = Awaited<ReturnType<typeof configOf>>;

/** A snapshot in `configOf`'s shape. */
export function configOfSnapshot(snapshot: Snapshot): DomainConfig {
  if (!snapshot.domain) return { domain: null };
  return {
    domain: strip([snapshot.domain])[0],
    users: strip(snapshot.users),
    groups: strip(snapshot.groups),
    services: strip(snapshot.services),
  };
}

/** `GET …/snapshot?at=` of a domain, in `configOf`'s shape. */
export async function snapshotOf(client: AdminClient, domain: string, at: string) {
  return configOfSnapshot(
    await client.request<Snapshot>(
      "GET",
      `/api/domains/${domain}/snapshot?at=${encodeURIComponent(at)}`,
    ),
  );
}

/** `POST …/rewind` of a domain. */
export const rewind = (client: AdminClient, domain: string, at: string, dryRun: boolean) =>
  client.request<Rewind>("POST", `/api/domains/${domain}/rewind`, { at, dryRun });
