import { conflict, fromZodError, invalid, notFound } from "../errors.ts";
import { type ConfigItem, domainKey, tombstone } from "../model/items.ts";
import type { HybridClock } from "../model/version.ts";
import { type ConfigStore, type PageRequest, WriteConflict } from "../ports.ts";
import { deleteDomainCascade } from "../sync/cascade.ts";
import { domains, type EntityType, present, type ReadOptions, type Scope } from "./entities.ts";

export interface ConfigServiceDeps {
  readonly store: ConfigStore;
  readonly clock: HybridClock;
  /** This server's id, recorded as the origin of the changes made here (R18). */
  readonly serverId: string;
  readonly now?: () => number;
}

/** Create, read, update and delete of replicated configuration with versions (R1, R8). */
export class ConfigService {
  private readonly now: () => number;

  constructor(private readonly deps: ConfigServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** One item as the API shows it (`options.withSecrets`: as the trigger actions need it). */
  async get(
    type: EntityType,
    scope: Scope,
    options: ReadOptions = {},
  ): Promise<Record<string, unknown>> {
    if (scope.domain !== undefined) await this.live(domains, { id: scope.domain });
    return present(type, await this.live(type, scope), options);
  }

  async list(
    type: EntityType,
    domain: string | undefined,
    page: PageRequest,
    options: ReadOptions = {},
  ) {
    if (domain !== undefined) await this.live(domains, { id: domain });
    const result =
      type === domains
        ? await this.deps.store.listDomains(page)
        : await this.deps.store.list(type.listing(domain).pk, type.listing(domain).skPrefix, page);
    return {
      items: result.items.map((item) => present(type, item, options)),
      nextCursor: result.cursor,
    };
  }

  /** Full replacement. With `version` in the body the write happens only over that version. */
  async put(type: EntityType, scope: Scope, body: unknown) {
    const parsed = type.schema.safeParse(body ?? {});
    if (!parsed.success) throw fromZodError(parsed.error);
    const { version: expected, ...input } = parsed.data;
    // Run state (R2) given in the input (web `enabled`) is stored apart from the data.
    const givenRunState = type.runState ? input[type.runState] : undefined;
    if (type.runState) delete input[type.runState];
    if (scope.domain !== undefined) await this.live(domains, { id: scope.domain });
    await this.checkReferences(type, scope, input);
    const key = type.key(scope);
    const previous = await this.deps.store.get(key);
    const live = previous && !previous.deleted ? previous : undefined;
    if (expected !== undefined && expected !== live?.version) {
      throw conflict(
        `${type.label} ${scope.id} is at version ${live?.version ?? "none"}, not ${expected}`,
      );
    }
    const item: ConfigItem = {
      ...key,
      kind: type.kind,
      id: scope.id,
      ...(scope.domain !== undefined ? { domain: scope.domain } : {}),
      version: this.deps.clock.next(previous?.version),
      origin: this.deps.serverId,
      updatedAt: this.now(),
      data: await type.toData(input, live?.data),
      ...(type.runState
        ? { running: typeof givenRunState === "boolean" ? givenRunState : live?.running === true }
        : {}),
    };
    await this.write(type, scope, item, previous?.version);
    return { item: present(type, item), created: live === undefined };
  }

  async remove(type: EntityType, scope: Scope): Promise<void> {
    const current = await this.live(type, scope);
    const deleted = tombstone(
      current,
      this.deps.clock.next(current.version),
      this.deps.serverId,
      this.now(),
    );
    await this.write(type, scope, deleted, current.version);
    // A domain takes its users, groups and services with it.
    if (type === domains) await deleteDomainCascade(this.deps.store, deleted);
  }

  /**
   * Start or stop a domain. Run state is local (R2): it is kept with the domain item but outside
   * its versioned data, so the version stays and later changes from production still apply.
   */
  async setRunning(domain: string, running: boolean) {
    const key = domains.key({ id: domain });
    if (!(await this.deps.store.setRunState(key, running))) throw notFound(`domain ${domain}`);
    return present(domains, await this.live(domains, { id: domain }));
  }

  /** Each item the input names exists, or a 400 naming the field and what is missing. */
  private async checkReferences(type: EntityType, scope: Scope, input: Record<string, unknown>) {
    const references = type.references?.(input, scope) ?? [];
    const found = await Promise.all(
      references.map((reference) => this.deps.store.get(reference.type.key(reference.scope))),
    );
    const missing = references.filter((_, index) => !found[index] || found[index]?.deleted);
    const [first] = missing;
    if (!first) return;
    const ids = missing.filter((reference) => reference.field === first.field);
    const where = first.scope.domain !== undefined ? ` in domain ${first.scope.domain}` : "";
    throw invalid(
      first.field,
      `no ${first.type.label} ${ids.map((reference) => reference.scope.id).join(", ")}${where}: create ${ids.length === 1 ? "it" : "them"} first`,
    );
  }

  private async live(type: EntityType, scope: Scope): Promise<ConfigItem> {
    const item = await this.deps.store.get(type.key(scope));
    if (!item || item.deleted) {
      const where =
        scope.domain !== undefined && type !== domains ? ` in domain ${scope.domain}` : "";
      throw notFound(`${type.label} ${scope.id}${where}`);
    }
    return item;
  }

  private async write(type: EntityType, scope: Scope, item: ConfigItem, expectedVersion?: number) {
    try {
      await this.deps.store.write(item, {
        expectedVersion,
        ...(scope.domain !== undefined && type !== domains
          ? { requireLive: domainKey(scope.domain) }
          : {}),
      });
      this.deps.clock.observe(item.version);
    } catch (error) {
      if (error instanceof WriteConflict) {
        throw conflict(
          `${type.label} ${scope.id} was changed or deleted concurrently; read it and retry`,
        );
      }
      throw error;
    }
  }
}
