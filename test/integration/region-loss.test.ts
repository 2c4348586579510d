import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import {
  DynamoDBStreamsClient,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
} from "@aws-sdk/client-dynamodb-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import type { LocalRuntime } from "../../infra/local/runtime.ts";
import { groups } from "../../shared/config/entities.ts";
import { type ConfigItem, childKey, domainKey, type ItemKey } from "../../shared/model/items.ts";
import { pack } from "../../shared/sync/capture.ts";
import { syncEvent } from "../../shared/sync/events.ts";
import { apiError, unique } from "../support/api.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

// R24: a whole local region down and up. Own runtime: a region down would stop the shared one's.
const HEARTBEAT_SECONDS = 1;
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;

/**
 * What each of production's stream pollers (automatic sync's capture, and trigger-rules: each
 * has its own Streams client) read, in order — sequence number and key — and where it asked to
 * start reading a shard.
 */
interface PollerLog {
  readonly reads: { sequence: string; key: string }[];
  readonly iterators: GetShardIteratorCommandInput[];
}
const productionPollers = new Map<DynamoDBStreamsClient, PollerLog>();

/** Records what production's stream pollers ask for and read (each region has its own clients). */
function watchStreamReads(client: unknown) {
  if (!(client instanceof DynamoDBStreamsClient)) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if ((await client.config.region()) !== "local-primary") return result;
      const log = productionPollers.get(client) ?? { reads: [], iterators: [] };
      productionPollers.set(client, log);
      if (context.commandName === "GetShardIteratorCommand") {
        log.iterators.push(args.input as GetShardIteratorCommandInput);
      }
      if (context.commandName === "GetRecordsCommand") {
        const output = result.output as GetRecordsCommandOutput;
        for (const record of output.Records ?? []) {
          log.reads.push({
            sequence: record.dynamodb?.SequenceNumber ?? "",
            key: `${record.dynamodb?.Keys?.pk?.S} ${record.dynamodb?.Keys?.sk?.S}`,
          });
        }
      }
      return result;
    },
    { step: "initialize", name: "productionStreamReads" },
  );
}

/** The failover's record of `key` when it is at least `version` (a later write counts too). */
async function onFailover(key: ItemKey, version = 0) {
  const record = await runtime.failover.services.store.get(key);
  return record !== undefined && record.version >= version;
}

/** Polls `condition` for `ms`: it must hold at every look. */
async function holdsFor(ms: number, condition: () => Promise<boolean> | boolean, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await condition(), what).toBe(true);
    await delay(100);
  }
}

/** The CLI as a user runs it, against the region at `url`. */
async function cli(url: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)("node", ["bin/mft-failover.js", ...args], {
      env: { ...process.env, MFT_URL: url, MFT_ADMIN_PASSWORD: runtime.admin.password },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const lastHeartbeat = () =>
  runtime.production.metrics.published.filter((metric) => metric.name === "HeartbeatMissed").at(-1)
    ?.at ?? 0;

/** Refused connections (not an HTTP error): the port is closed, as a dead server's would be. */
async function refused(url: string) {
  try {
    await fetch(`${url}/health`);
    return false;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
  }
}

beforeAll(async () => {
  runtime = await startOwnRuntime({
    heartbeatSeconds: HEARTBEAT_SECONDS,
    instrument: watchStreamReads,
  });
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
});

afterAll(async () => {
  await runtime?.stop();
});

describe("local region loss (R24)", { timeout: 90_000 }, () => {
  it("down stops production's API, stream poller, queue consumer and monitor; up loses nothing", async () => {
    const { config, clock, queue } = runtime.production.services;
    const domain = unique("loss");
    await production.request("PUT", `/api/domains/${domain}`, { description: "before" });
    await waitFor(() => onFailover(domainKey(domain)), 10_000, "the domain on the failover");
    // Committed just before the region goes: most are not forwarded yet.
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        config.put(groups, { domain, id: `burst-${n}` }, { description: "just before" }),
      ),
    );

    await runtime.setRegionDown("production", true);
    const beforeDown = new Map(
      [...productionPollers].map(([client, log]) => [
        client,
        { reads: [...log.reads], iterators: log.iterators.length },
      ]),
    );
    const beforeStats = { ...runtime.production.pipelineStats() };
    const beforeHeartbeat = lastHeartbeat();

    expect(runtime.production.state()).toBe("down");
    expect(await refused(runtime.production.url)).toBe(true);
    // Straight into the table (the stream records it), and straight onto the queue.
    const written = await config.put(groups, { domain, id: "while-down" }, { description: "x" });
    const queuedItem: ConfigItem = {
      ...childKey(domain, "group", "queued-only"),
      kind: "group",
      id: "queued-only",
      domain,
      version: clock.next(),
      origin: runtime.production.serverId,
      updatedAt: Date.now(),
      data: { description: "on the queue only" },
    };
    const messages = pack([{ item: queuedItem, eventId: randomUUID() }]);
    expect(await queue.sendInOrder(messages)).toEqual([true]);
    // Three heartbeat intervals and many stream polls: nothing of production runs.
    await holdsFor(
      3_000,
      async () =>
        !(await onFailover(childKey(domain, "group", "while-down"))) &&
        !(await onFailover(childKey(domain, "group", "queued-only"))),
      "nothing reaches the failover while production is down",
    );
    expect(runtime.production.pipelineStats()).toEqual(beforeStats);
    expect(lastHeartbeat()).toBe(beforeHeartbeat);

    await runtime.setRegionDown("production", false);

    expect(runtime.production.state()).toBe("up");
    expect((await fetch(`${runtime.production.url}/health`)).status).toBe(200);
    const expected = [
      ...burst.map(({ item }, n) => ({ id: `burst-${n}`, version: Number(item.version) })),
      { id: "while-down", version: Number(written.item.version) },
      { id: "queued-only", version: queuedItem.version },
    ];
    const missing = async () => {
      const absent: string[] = [];
      for (const { id, version } of expected)
        if (!(await onFailover(childKey(domain, "group", id), version))) absent.push(id);
      return absent;
    };
    await waitFor(async () => (await missing()).length === 0, 15_000).catch(() => {});
    expect(
      await missing(),
      "changes committed before and during the outage, not on the failover",
    ).toEqual([]);
    await waitFor(() => lastHeartbeat() > beforeHeartbeat, 5_000, "the monitor running again");
    // Each poller (capture's client is made anew at each start) resumes after its checkpoint,
    // which is past the domain (handled before the outage: it reached the failover); records
    // read but not handled before the outage are read again (at least once), no more.
    const { pk, sk } = domainKey(domain);
    const readBefore = [...beforeDown.values()].flatMap((before) => before.reads);
    const domainSequence = BigInt(
      readBefore.find((read) => read.key === `${pk} ${sk}`)?.sequence ?? "",
    );
    const readTheDomain = [...beforeDown.values()].filter((before) =>
      before.reads.some((read) => read.key === `${pk} ${sk}`),
    );
    const resumed = [...productionPollers].flatMap(([client, log]) => {
      const before = beforeDown.get(client) ?? { reads: [], iterators: 0 };
      const resumedAt = log.iterators[before.iterators];
      return resumedAt ? [{ resumedAt, readsAfter: log.reads.slice(before.reads.length) }] : [];
    });
    expect(resumed.length).toBeGreaterThanOrEqual(readTheDomain.length);
    for (const { resumedAt, readsAfter } of resumed) {
      expect(resumedAt.ShardIteratorType).toBe("AFTER_SEQUENCE_NUMBER");
      const checkpoint = BigInt(resumedAt.SequenceNumber ?? "-1");
      expect(checkpoint).toBeGreaterThanOrEqual(domainSequence);
      const readAgain = readsAfter.filter((read) =>
        readBefore.some((earlier) => earlier.sequence === read.sequence),
      );
      expect(readAgain.every((read) => BigInt(read.sequence) > checkpoint)).toBe(true);
    }
  });

  it("delivers no event to production's triggers while it is down", async () => {
    const trigger = unique("loss-trigger");
    const marker = unique("loss-event");
    await production.request("PUT", `/api/triggers/${trigger}`, {
      event: "Failover Synchronization",
      condition: { variable: "Primary", op: "==", value: marker },
      actions: [{ type: "email", to: ["ops@example.com"], subject: "{{Primary}} {{Reason}}" }],
    });
    const publish = (reason: string) =>
      runtime.production.bus.publish(
        syncEvent({
          Success: false,
          Mode: "automatic",
          Primary: marker,
          Failover: "local-failover",
          StartedAt: new Date().toISOString(),
          FinishedAt: new Date().toISOString(),
          Items: 0,
          Reason: reason,
        }),
      );
    const subjects = () => runtime.mail.messages().map((mail) => mail.subject);

    await runtime.setRegionDown("production", true);
    await publish("while down");
    await runtime.setRegionDown("production", false);
    await publish("after up");

    await waitFor(
      () => subjects().includes(`${marker} after up`),
      10_000,
      "the trigger's email for the event published after up",
    );
    expect(subjects()).not.toContain(`${marker} while down`);
  });

  it("is switched through the other region's API: GET /_local/regions, POST …/down|up", async () => {
    const state = async () =>
      (
        await standby.request<{ items: { name: string; state: string }[] }>(
          "GET",
          "/_local/regions",
        )
      ).items;

    const self = await apiError(production.request("POST", "/_local/regions/production/down"));
    const down = await standby.request("POST", "/_local/regions/production/down");
    // `primary`: production's old name, still accepted.
    const online = await apiError(standby.request("POST", "/_local/regions/primary/online"));
    const listed = await state();
    const up = await standby.request("POST", "/_local/regions/production/up");

    expect(self.status).toBe(409);
    expect(self.message).toContain(runtime.failover.url);
    expect(down).toMatchObject({ name: "production", state: "down" });
    expect(online.status).toBe(409);
    expect(listed).toEqual([
      expect.objectContaining({ name: "production", state: "down" }),
      expect.objectContaining({ name: "failover", state: "up" }),
    ]);
    expect(up).toMatchObject({ name: "production", state: "up" });
    expect((await production.request<{ status: string }>("GET", "/health")).status).toBe("ok");
    expect((await apiError(standby.request("POST", "/_local/regions/elsewhere/down"))).status).toBe(
      404,
    );
  });

  it("`region production down` from production's own URL goes through the failover; `up` too", async () => {
    const help = await cli(runtime.production.url, "region", "--help");
    const down = await cli(runtime.production.url, "region", "production", "down");
    const stateWhileDown = runtime.production.state();
    const unreachable = await cli(runtime.production.url, "region", "list");
    const up = await cli(runtime.failover.url, "region", "production", "up");
    const list = await cli(runtime.production.url, "region", "list");

    expect(help.stdout).toContain("production");
    expect(help.stdout).toContain("failover");
    expect(down).toMatchObject({ code: 0 });
    expect(down.stdout).toContain("production is down");
    expect(down.stdout).toContain(
      `Bring it back: mft-failover --url ${runtime.failover.url} region production up`,
    );
    expect(stateWhileDown).toBe("down");
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(`cannot reach ${runtime.production.url}`);
    expect(up).toMatchObject({ code: 0 });
    expect(runtime.production.state()).toBe("up");
    expect(list.stdout).toMatch(/^production +up +http/m);
    expect(list.stdout).toMatch(/^failover +up +http/m);
  });

  it("`region production down`: the failover's status and metric say so within three heartbeat intervals (R20)", async () => {
    const interval = HEARTBEAT_SECONDS * 1000;
    const receiving = async () =>
      (await standby.request<{ receiving: Receiving | null }>("GET", "/api/failover/status"))
        .receiving;
    const ages = (from: number) =>
      runtime.failover.metrics.published
        .slice(from)
        .filter((metric) => metric.name === "HeartbeatAge");
    // In step: production's heartbeats arrive, the failover's monitor publishes their age.
    const before = await waitFor(async () => {
      const current = await receiving();
      return current && !current.missed ? current : undefined;
    }, 10_000);
    expect(before).toMatchObject({ from: runtime.production.serverId, missed: false });
    expect(before.ageSeconds).toBeGreaterThanOrEqual(0);
    await waitFor(() => ages(0).length > 0, 5_000, "a HeartbeatAge metric on the failover");
    // Production, which sends, is not receiving anything.
    expect(
      (await production.request<{ receiving: unknown }>("GET", "/api/failover/status")).receiving,
    ).toBeNull();

    const published = runtime.failover.metrics.published.length;
    const down = await cli(runtime.failover.url, "region", "production", "down");
    const downAt = Date.now();
    try {
      expect(down.code).toBe(0);
      const noticed = await waitFor(
        async () => {
          const current = await receiving();
          return current?.missed ? current : undefined;
        },
        3 * interval,
        "the failover's status to say production's heartbeats are missed",
      );
      expect(noticed.ageSeconds).toBeGreaterThan(2 * HEARTBEAT_SECONDS);
      const metric = await waitFor(
        () => ages(published).find((age) => age.value > 2 * HEARTBEAT_SECONDS),
        Math.max(0, downAt + 3 * interval - Date.now()),
        "a HeartbeatAge of more than two intervals in the failover's metric sink",
      );
      expect(metric.at - downAt).toBeLessThanOrEqual(3 * interval);
      const view = await cli(runtime.failover.url, "failover", "status");
      expect(view.stdout).toMatch(
        new RegExp(`^receiving +from ${runtime.production.serverId}; last heartbeat .*MISSED`, "m"),
      );
    } finally {
      await runtime.setRegionDown("production", false);
    }
    await waitFor(async () => (await receiving())?.missed === false, 10_000, "heartbeats again");
  });
});

interface Receiving {
  from: string;
  lastHeartbeatAt: string;
  ageSeconds: number;
  missed: boolean;
}
