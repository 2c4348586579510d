import { setTimeout as delay } from "node:timers/promises";
import { domains, groups, present, services, triggers, users, web } from "../config/entities.ts";
import { AppError, invalid, notFound } from "../errors.ts";
import { type ConfigItem, domainPk, itemId, SERVER_PARTITION } from "../model/items.ts";
import type { HybridClock } from "../model/version.ts";
import { allPages } from "../paging.ts";
import type { ConfigStore, HistoryStore, PageRequest } from "../ports.ts";
import { changedAt, type HistoryChange, lastVersionAt } from "./change.ts";
import { type RewindPlan, rewindPlan, stateAt } from "./rewind.ts";

export interface HistoryServiceDeps {
  readonly store: ConfigStore;
  readonly history: HistoryStore;
  readonly clock: HybridClock;
  /** This server's id: the origin of a rewind's writes (R18). */
  readonly serverId: string;
  /** How long history keeps a change (R26), in days: how far back a moment may be. */
  readonly historyDays: number;
  readonly now: () => number;
  /** How long a look waits for history to catch up with the table (real time). @default 5000 */
  readonly catchUpMs?: number;
}

/** One domain (its partition), or the server scope (web settings and triggers). */
export type HistoryScope = { readonly domain: string } | { readonly domain?: undefined };

/** A page of one scope's changes in a time range (epoch ms, both ends included). */
export interface ChangesQuery extends PageRequest {
  readonly since?: number;
  readonly until?: number;
}

/** How long a look or a rewind waits for history to hold a change the table has just stored. */
const CATCH_UP_MS = 5_000;
const CATCH_UP_POLL_MS = 100;
const PAGE = 1000;
/** Items a rewind writes per batch, and batches side by side: a round ends close to its deadline. */
const WRITE_BATCH = 250;
const BATCHES_IN_FLIGHT = 4;

const scopeKey = (scope: HistoryScope) =>
  scope.domain === undefined ? SERVER_PARTITION : domainPk(scope.domain);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Look back and put back (R26): a scope's changes, its state at a moment, and a rewind to it,
 * written as new versions that automatic sync carries to the peer like any change.
 */
export class HistoryService {
  constructor(private readonly deps: HistoryServiceDeps) {}

  /** A scope's changes, newest first, as `GET /api/history` shows them (no item data). */
  async changes(scope: HistoryScope, query: ChangesQuery) {
    const page = await this.deps.history.list(
      scopeKey(scope),
      {
        after: query.since === undefined ? 0 : query.since * 1000 - 1,
        upTo: query.until === undefined ? Number.MAX_SAFE_INTEGER : lastVersionAt(query.until),
      },
      { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) },
    );
    return {
      items: page.items.map((change) => ({
        at: iso(changedAt(change)),
        domain: change.domain ?? null,
        id: change.id,
        op: change.op,
        version: change.version,
        origin: change.origin,
        fields: change.fields,
      })),
      cursor: page.cursor ?? null,
    };
  }

  /** A domain's state at `at` (epoch ms), its items as their GET routes show them. */
  async domainSnapshot(domain: string, at: number) {
    const { items } = await this.look({ domain }, at);
    const of = (kind: ConfigItem["kind"]) => items.filter((item) => item.kind === kind);
    const [domainItem] = of("domain");
    return {
      at: iso(at),
      domain: domainItem ? present(domains, domainItem) : null,
      users: of("user").map((item) => present(users, item)),
      groups: of("group").map((item) => present(groups, item)),
      services: of("service").map((item) => present(services, item)),
    };
  }

  /** The server scope's state at `at`: web settings and triggers (secrets masked). */
  async settingsSnapshot(at: number) {
    const { items } = await this.look({}, at);
    const [webItem] = items.filter((item) => item.kind === "web");
    return {
      at: iso(at),
      web: webItem ? present(web, webItem) : null,
      triggers: items
        .filter((item) => item.kind === "trigger")
        .map((item) => present(triggers, item)),
    };
  }

  /**
   * Makes a scope what it was at `at`: a dry run answers what would change; the real run
   * writes it as one new version above every current one (so a rewind can itself be rewound).
   * A write that meets a newer version made meanwhile is left to it (`skipped`). Writing stops
   * at `deadline` (epoch ms; the admin API's answer must leave in time): `remaining` counts the
   * writes not made, and the same rewind run again writes what still differs.
   */
  async rewind(
    scope: HistoryScope,
    at: number,
    dryRun: boolean,
    deadline = Number.POSITIVE_INFINITY,
  ) {
    const { items, current } = await this.look(scope, at);
    // A reduce, not Math.max(...): a spread of 130,000 or more arguments overflows the stack.
    const highest = current.reduce((max, item) => Math.max(max, item.version), 0);
    const version = this.deps.clock.next(highest);
    const plan = rewindPlan(items, current, {
      version,
      origin: this.deps.serverId,
      now: this.deps.now(),
    });
    const answer = {
      at: iso(at),
      dryRun,
      added: plan.added,
      removed: plan.removed,
      changed: plan.changed,
    };
    if (dryRun) return answer;
    const { written, skipped } = await this.write(plan, deadline);
    return {
      ...answer,
      applied: written - skipped.length,
      skipped,
      remaining: plan.writes.length - written,
    };
  }

  /**
   * Writes a plan's items through the version rule until `deadline`: a domain put back first, a
   * domain deleted last, the items between a few batches side by side (as a full sync's
   * segments). How many were written, and the ids a newer version kept.
   */
  private async write(plan: RewindPlan, deadline: number) {
    const isDomain = (item: ConfigItem) => item.kind === "domain";
    const others = plan.writes.filter((item) => !isDomain(item));
    const round = WRITE_BATCH * BATCHES_IN_FLIGHT;
    const rounds = Array.from({ length: Math.ceil(others.length / round) }, (_, r) =>
      Array.from({ length: BATCHES_IN_FLIGHT }, (_, b) =>
        others.slice(r * round + b * WRITE_BATCH, r * round + (b + 1) * WRITE_BATCH),
      ).filter((batch) => batch.length > 0),
    );
    // A domain's own item is written alone: put back before its items, deleted after them.
    const alone = (deleted: boolean) =>
      plan.writes.filter((item) => isDomain(item) && (item.deleted === true) === deleted);
    const steps = [
      ...alone(false).map((item) => [[item]]),
      ...rounds,
      ...alone(true).map((item) => [[item]]),
    ];
    const skipped: string[] = [];
    let written = 0;
    for (const batches of steps) {
      if (Date.now() >= deadline) break;
      const applied = await Promise.all(batches.map((batch) => this.deps.store.applyBatch(batch)));
      batches.forEach((batch, at) => {
        batch.forEach((item, index) => {
          if (!applied[at]?.[index]) skipped.push(itemId(item));
        });
        written += batch.length;
      });
    }
    if (plan.writes[0]) this.deps.clock.observe(plan.writes[0].version);
    return { written, skipped };
  }

  /**
   * A scope's state at `at` and its items now, once history holds every change the table has
   * (it follows the stream, a moment behind): a moment that cannot be looked at is a 400
   * naming `at`, a domain that never existed in the period a 404.
   */
  private async look(scope: HistoryScope, at: number) {
    this.checkMoment(at);
    // Real time, not the server's clock: this waits for the stream, which a test clock does not move.
    const deadline = performance.now() + (this.deps.catchUpMs ?? CATCH_UP_MS);
    for (;;) {
      const current = await this.currentItems(scope);
      const after = await this.changesAfter(scope, lastVersionAt(at));
      if (scope.domain !== undefined && current.length === 0 && after.length === 0)
        throw notFound(`domain ${scope.domain}`);
      const state = stateAt(current, after, lastVersionAt(at));
      if (state.behind === undefined) return { items: state.items, current };
      if (performance.now() >= deadline)
        throw new AppError(
          503,
          "history_behind",
          `history has not yet recorded the latest change of ${state.behind.slice(0, 5).join(", ")}; retry in a few seconds`,
        );
      await delay(CATCH_UP_POLL_MS);
    }
  }

  private checkMoment(at: number) {
    const now = this.deps.now();
    if (at > now) throw invalid("at", `${iso(at)} is in the future`);
    const earliest = now - this.deps.historyDays * 86_400_000;
    if (at < earliest)
      throw invalid(
        "at",
        `${iso(at)} is before the history's retention period (${this.deps.historyDays} days): the earliest moment is ${iso(earliest)}`,
      );
  }

  private currentItems(scope: HistoryScope): Promise<ConfigItem[]> {
    return allPages((cursor) =>
      this.deps.store.list(
        scopeKey(scope),
        "",
        { limit: PAGE, ...(cursor ? { cursor } : {}) },
        { withTombstones: true },
      ),
    );
  }

  private changesAfter(scope: HistoryScope, lastVersion: number): Promise<HistoryChange[]> {
    return allPages((cursor) =>
      this.deps.history.list(
        scopeKey(scope),
        { after: lastVersion, upTo: Number.MAX_SAFE_INTEGER },
        { limit: PAGE, ...(cursor ? { cursor } : {}) },
      ),
    );
  }
}
