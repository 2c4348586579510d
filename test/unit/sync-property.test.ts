import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as entities from "../../shared/config/entities.ts";
import { ConfigService } from "../../shared/config/service.ts";
import { AppError } from "../../shared/errors.ts";
import { type ConfigItem, domainKey, type ItemKey } from "../../shared/model/items.ts";
import { HybridClock } from "../../shared/model/version.ts";
import { applyChange } from "../../shared/sync/apply.ts";
import { capturedItem, pack, unpack } from "../../shared/sync/capture.ts";
import { toFailover } from "../../shared/sync/transform.ts";
import { MemoryStore } from "../support/memory-store.ts";

const rules = {
  ipSubstitutions: [{ ip: "10.0.0.1", substituteIp: "10.9.9.1" }],
  startAfterSync: false,
};

/** A store whose every committed write is also a stream record (new and old image). */
class StreamedStore extends MemoryStore {
  readonly stream: { item: ConfigItem; old: ConfigItem | undefined }[] = [];
  override async write(...args: Parameters<MemoryStore["write"]>) {
    const old = await this.get(args[0]);
    await super.write(...args);
    this.stream.push({ item: args[0], old });
  }
  override async apply(item: ConfigItem) {
    const old = await this.get(item);
    const applied = await super.apply(item);
    if (applied) this.stream.push({ item: (await this.get(item)) ?? item, old });
    return applied;
  }
  override async setRunState(key: ItemKey, running: boolean) {
    const old = await this.get(key);
    const changed = await super.setRunState(key, running);
    const item = await this.get(key);
    if (changed && item) this.stream.push({ item, old });
    return changed;
  }
}

const domain = fc.constantFrom("d1", "d2");
const child = fc.constantFrom("a", "b");
const operation = fc.oneof(
  fc.record({
    op: fc.constant("putDomain" as const),
    domain,
    description: fc.string({ maxLength: 3 }),
  }),
  fc.record({ op: fc.constant("deleteDomain" as const), domain }),
  fc.record({ op: fc.constant("run" as const), domain, running: fc.boolean() }),
  fc.record({
    op: fc.constant("putGroup" as const),
    domain,
    id: child,
    description: fc.string({ maxLength: 3 }),
  }),
  fc.record({ op: fc.constant("deleteGroup" as const), domain, id: child }),
  fc.record({
    op: fc.constant("putService" as const),
    domain,
    id: child,
    ip: fc.constantFrom("10.0.0.1", "10.0.0.2"),
    port: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ op: fc.constant("deleteService" as const), domain, id: child }),
  fc.record({
    op: fc.constant("putWeb" as const),
    enabled: fc.boolean(),
    port: fc.integer({ min: 1, max: 3 }),
  }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

async function run(config: ConfigService, step: Operation) {
  switch (step.op) {
    case "putDomain":
      return config.put(entities.domains, { id: step.domain }, { description: step.description });
    case "deleteDomain":
      return config.remove(entities.domains, { id: step.domain });
    case "run":
      return config.setRunning(step.domain, step.running);
    case "putGroup":
      return config.put(
        entities.groups,
        { domain: step.domain, id: step.id },
        { description: step.description },
      );
    case "deleteGroup":
      return config.remove(entities.groups, { domain: step.domain, id: step.id });
    case "putService":
      return config.put(
        entities.services,
        { domain: step.domain, id: step.id },
        { protocol: "SFTP", ip: step.ip, port: step.port },
      );
    case "deleteService":
      return config.remove(entities.services, { domain: step.domain, id: step.id });
    case "putWeb":
      return config.put(entities.web, { id: "web" }, { enabled: step.enabled, port: step.port });
  }
}

/** What the failover must hold: production's live items, transformed (R13 with no local starts, R14). */
function expected(production: MemoryStore) {
  const transformed = new MemoryStore();
  for (const item of production.items.values()) {
    if (!item.deleted) transformed.items.set(`${item.pk}\u0000${item.sk}`, toFailover(item, rules));
  }
  return transformed.snapshot();
}

/** An operator starting or stopping a domain on the failover, between two deliveries. */
const failoverRunChange = fc.record({ at: fc.nat(), domain, running: fc.boolean() });

describe("automatic sync converges (R2, R8, R13, R14)", () => {
  it("after any history, packed in any stream batches, with duplicates, reordering, outages and run-state changes on the failover, failover == transform(production)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operation, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 200 }),
        fc.array(failoverRunChange, { maxLength: 10 }),
        async (history, batchSizes, order, copies, failoverRuns) => {
          const production = new StreamedStore();
          const config = new ConfigService({
            store: production,
            clock: new HybridClock(() => 1_000),
            serverId: "prod",
          });
          for (const step of history) {
            await run(config, step).catch((error: unknown) => {
              if (!(error instanceof AppError)) throw error;
            });
          }
          // The stream is read in batches of any size; capture packs each batch into messages
          // (one per domain, in stream order). Every message is delivered at least once, in any
          // order: duplicates are retries and redeliveries, the reordering is what an outage and
          // a DLQ redrive do.
          const captured = production.stream.flatMap(({ item, old }, index) => {
            const change = capturedItem(item, old, "prod");
            return change ? [{ item: change, eventId: String(index) }] : [];
          });
          const messages = [];
          for (let start = 0, batch = 0; start < captured.length; batch++) {
            const size = batchSizes[batch] ?? captured.length;
            messages.push(...pack(captured.slice(start, start + size)));
            start += size;
          }
          const changes = messages.flatMap((message, index) =>
            Array.from({ length: copies[index] ?? 1 }, () => message),
          );
          const deliveries = changes
            .map((change, index) => ({ change, key: order[index] ?? index }))
            .sort((a, b) => a.key - b.key);
          const failover = new MemoryStore();
          const failoverClock = new HybridClock(() => 1_000);
          const started = new Set<string>();
          for (const [index, { change }] of deliveries.entries()) {
            for (const run of failoverRuns.filter(({ at }) => at % deliveries.length === index)) {
              if (await failover.setRunState(domainKey(run.domain), run.running))
                started.add(run.domain);
            }
            for (const item of unpack(change.body)) {
              const result = await applyChange(failover, failoverClock, {
                item: toFailover(item, rules),
              });
              expect(result.status).not.toBe("rejected");
            }
          }
          expect(failover.snapshot()).toEqual(expected(production));
          // Production's run state never travels (R2); new items are stopped (R13).
          for (const item of failover.items.values()) {
            if (item.kind === "web" || (item.kind === "domain" && !started.has(item.id)))
              expect(item.running ?? false).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
