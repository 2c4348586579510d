import {
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { LOCAL_AWS, type LocalRuntime } from "../../infra/local/runtime.ts";
import { apiError, unique } from "../support/api.ts";
import { startProxy } from "../support/proxy.ts";
import { startOwnRuntime } from "../support/runtime.ts";
import { waitFor } from "../support/wait.ts";

/**
 * Faults need a failover that can die, so this file runs its own two regions (R9, R10, R8).
 * Its tests run one after another and each leaves sync active and drained.
 */
let runtime: LocalRuntime;
let production: AdminClient;
let standby: AdminClient;
let sqs: SQSClient;

type Item = Record<string, unknown> & { version: number };
type Status = {
  sync: { state: string; reason?: string };
  queue: { queued: number; inFlight: number; deadLettered: number };
};

beforeAll(async () => {
  runtime = await startOwnRuntime();
  production = new AdminClient(runtime.production.url, runtime.admin);
  standby = new AdminClient(runtime.failover.url, runtime.admin);
  sqs = new SQSClient({ ...LOCAL_AWS, endpoint: runtime.sqsEndpoint });
  await pointAt(failoverPort(), 10_000);
});
afterAll(async () => {
  await runtime?.stop();
});

const status = () => production.request<Status>("GET", "/api/failover/status");

/** Production's live items of a domain, as the failover must show them (no run state or IPs here). */
async function domainState(client: AdminClient, domain: string) {
  const strip = ({ version: _v, updatedAt: _u, ...rest }: Item) => rest;
  const [users, groups] = await Promise.all(
    ["users", "groups"].map(async (kind) =>
      (await client.request<{ items: Item[] }>("GET", `/api/domains/${domain}/${kind}`)).items.map(
        strip,
      ),
    ),
  );
  return { users, groups };
}

async function converged(domain: string) {
  await waitFor(
    async () =>
      JSON.stringify(await domainState(standby, domain)) ===
      JSON.stringify(await domainState(production, domain)),
    20_000,
    `domain ${domain} equal on both sides`,
  );
}

/**
 * Production's failover settings. Outages here suspend after a second and wait for a person
 * (the self-healing of short outages and the heartbeat's auto-resume have their own tests).
 */
async function pointAt(
  port: number,
  timeoutMs: number,
  healing: { suspendAfterSeconds?: number; autoResume?: boolean } = {},
) {
  await production.request("PUT", "/api/failover", {
    enabled: true,
    host: "127.0.0.1",
    port,
    useTls: false,
    timeoutMs,
    username: runtime.admin.username,
    password: runtime.admin.password,
    autoSync: true,
    suspendAfterSeconds: healing.suspendAfterSeconds ?? 1,
    autoResume: healing.autoResume ?? false,
  });
}
const failoverPort = () => Number(new URL(runtime.failover.url).port);

async function resumeAndDrain() {
  await production.request("POST", "/api/failover/resume");
  await waitFor(async () => {
    const current = await status();
    return (
      current.sync.state === "active" && current.queue.queued === 0 && current.queue.inFlight === 0
    );
  }, 20_000);
}

describe("failover down (R9)", () => {
  it("suspends with the reason, keeps every change, and converges after resume", async () => {
    const domain = unique("outage");
    const base = `/api/domains/${domain}`;
    await production.request("PUT", base, {});
    await production.request("PUT", `${base}/users/one`, {
      password: "password-1",
      homeDirectory: "/1",
    });
    await converged(domain);
    const eventsBefore = runtime.production.bus.events().length;

    await runtime.failover.setOnline(false);
    await production.request("PUT", `${base}/users/two`, {
      password: "password-2",
      homeDirectory: "/2",
    });
    const suspended = await waitFor(async () => {
      const current = await status();
      return current.sync.state === "suspended" ? current : undefined;
    }, 20_000);
    expect(suspended.sync.reason).toMatch(/cannot connect/);
    const failuresSince = () =>
      runtime.production.bus
        .events()
        .slice(eventsBefore)
        .filter((event) => !event.detail.Success);
    // The state is recorded first, the event right after it.
    const failures = await waitFor(() =>
      failuresSince().length > 0 ? failuresSince() : undefined,
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]?.detail).toMatchObject({
      Mode: "automatic",
      Reason: expect.stringContaining("suspended"),
    });

    // More changes while suspended: kept in the queue, nothing calls the dead failover.
    await production.request("DELETE", `${base}/users/one`);
    await production.request("PUT", `${base}/groups/late`, {});
    // Waiting, or put aside (in flight) by a poller that ran on while the mapping disabled.
    await waitFor(async () => {
      const { queued, inFlight } = (await status()).queue;
      return queued + inFlight >= 2;
    }, 10_000);
    expect(failuresSince()).toHaveLength(1);

    await runtime.failover.setOnline(true);
    await resumeAndDrain();
    await converged(domain);
    const { users } = await domainState(standby, domain);
    expect(users?.map((user) => user.username)).toEqual(["two"]);
  });
});

describe("failover slower than timeoutMs (R9)", () => {
  it("gives up within the timeout, suspends, and converges once answered in time", async () => {
    const proxy = await startProxy(runtime.failover.url, (path) =>
      path === "/api/sync/events" ? { kind: "slow", ms: 1_500 } : { kind: "pass" },
    );
    try {
      await pointAt(proxy.port, 300);
      const domain = unique("slow");
      await production.request("PUT", `/api/domains/${domain}`, { description: "slow" });
      const suspended = await waitFor(async () => {
        const current = await status();
        return current.sync.state === "suspended" ? current : undefined;
      }, 20_000);
      expect(suspended.sync.reason).toMatch(/within 300 ms/);

      await pointAt(failoverPort(), 10_000);
      await resumeAndDrain();
      await waitFor(
        async () =>
          (await standby.request<Item>("GET", `/api/domains/${domain}`)).description === "slow",
        20_000,
      );
    } finally {
      await pointAt(failoverPort(), 10_000);
      await proxy.stop();
    }
  });
});

describe("crash between the failover's apply and the queue's delete (R8)", () => {
  it("redelivers the batch and the effect stays exactly once", async () => {
    let lost = 0;
    const proxy = await startProxy(runtime.failover.url, (path) => {
      if (path === "/api/sync/events" && lost < 1) {
        lost += 1;
        return { kind: "lose-answer" };
      }
      return { kind: "pass" };
    });
    try {
      await pointAt(proxy.port, 5_000);
      const domain = unique("crash");
      const base = `/api/domains/${domain}`;
      await production.request("PUT", base, {});
      await production.request("PUT", `${base}/groups/g`, { description: "once" });
      await converged(domain);
      // The forwarder did not hear back, so it sent the batch again; the failover saw it twice.
      await waitFor(
        () => proxy.seen.filter((path) => path === "/api/sync/events").length > 1,
        10_000,
      );
      await waitFor(async () => (await status()).queue.inFlight === 0, 10_000);
      expect(lost).toBe(1);
      expect((await status()).sync.state).toBe("active");
      // The redelivered change was applied once: the failover holds production's version.
      const [mine, theirs] = await Promise.all(
        [production, standby].map((client) => client.request<Item>("GET", `${base}/groups/g`)),
      );
      expect(theirs?.version).toBe(mine?.version);
    } finally {
      await pointAt(failoverPort(), 10_000);
      await proxy.stop();
    }
  });
});

describe("the failover's stream filter (R26)", () => {
  it("hands the failover's capture the changes it applies: its history keeps them, with their origin", async () => {
    const domain = unique("applied");
    await production.request("PUT", `/api/domains/${domain}`, {});
    await production.request("PUT", `/api/domains/${domain}/groups/g`, { description: "x" });
    await converged(domain);

    const history = await waitFor(async () => {
      const page = await standby.request<{ items: { id: string; origin: string }[] }>(
        "GET",
        `/api/history?domain=${domain}`,
      );
      return page.items.length === 2 ? page.items : undefined;
    }, 10_000);
    expect(history.map((change) => [change.id, change.origin])).toEqual([
      ["group:g", runtime.production.serverId],
      ["domain", runtime.production.serverId],
    ]);
  });
});

describe("duplicates, reordering and tombstones on the receiving side (R8)", () => {
  const change = (version: number, data?: Record<string, unknown>) => ({
    item: {
      pk: "DOMAIN#dup-domain",
      sk: "GROUP#g",
      kind: "group",
      id: "g",
      domain: "dup-domain",
      version,
      origin: "elsewhere",
      updatedAt: 1,
      ...(data ? { data } : { deleted: true }),
    },
  });

  it("applies a change once, ignores older ones and never resurrects a deleted item", async () => {
    const send = (changes: unknown[]) =>
      standby.request<{ results: { status: string }[] }>("POST", "/api/sync/events", {
        origin: "elsewhere",
        changes,
      });
    const v1 = change(1_000_000_001, { description: "v1" });
    const v2 = change(1_000_000_002, { description: "v2" });
    const deleted = change(1_000_000_003);

    const first = await send([v2, v2, v1]);
    expect(first.results.map((result) => result.status)).toEqual(["applied", "stale", "stale"]);
    const second = await send([deleted, v2, v1, deleted]);
    expect(second.results.map((result) => result.status)).toEqual([
      "applied",
      "stale",
      "stale",
      "stale",
    ]);
    expect(
      (await apiError(standby.request("GET", "/api/domains/dup-domain/groups/g"))).status,
    ).toBe(404);
  });
});

describe("received items are held to the admin API's rules (R8, R25)", () => {
  it("rejects, one by one, extra attributes, bad ids, huge hashes and versions from the future", async () => {
    const domain = unique("strict");
    const now = Date.now();
    const base = { origin: "elsewhere", updatedAt: now, version: now * 1000 };
    const user = (
      id: string,
      data: Record<string, unknown>,
      extra: Record<string, unknown> = {},
    ) => ({
      item: {
        ...base,
        pk: `DOMAIN#${domain}`,
        sk: `USER#${id}`,
        kind: "user",
        id,
        domain,
        data: { homeDirectory: "/h", enabled: true, groups: [], ...data },
        ...extra,
      },
    });
    const hash = "scrypt$32768$8$1$c2FsdA$aGFzaA";
    const changes = [
      {
        item: {
          ...base,
          pk: `DOMAIN#${domain}`,
          sk: "DOMAIN",
          kind: "domain",
          id: domain,
          domain,
          data: { description: "", limits: {} },
        },
      },
      user("listed-as-domain", { passwordHash: hash }, { gsi1pk: "DOMAIN", gsi1sk: "x" }),
      { item: { ...base, pk: "SERVER", sk: "TRIGGER#a b", kind: "trigger", id: "a b", data: {} } },
      user("huge", { passwordHash: `${hash}${"x".repeat(10_000)}` }),
      user("future", { passwordHash: hash }, { version: (now + 10 * 60_000) * 1000 }),
      user("fine", { passwordHash: hash }),
    ];

    const { results } = await standby.request<{ results: { status: string; reason?: string }[] }>(
      "POST",
      "/api/sync/events",
      { origin: "elsewhere", changes },
    );

    expect(results.map((result) => result.status)).toEqual([
      "applied",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "applied",
    ]);
    expect(results[1]?.reason).toMatch(/gsi1pk/);
    expect(results[2]?.reason).toMatch(/^invalid trigger id/);
    expect(results[3]?.reason).toMatch(/passwordHash/);
    expect(results[4]?.reason).toMatch(/ahead of this server's clock/);
    // The future version did not lift the failover's clock: a change made there now outranks it.
    const made = await standby.request<{ version: number }>(
      "PUT",
      `/api/domains/${domain}/users/future`,
      { password: "a-password-1", homeDirectory: "/h" },
    );
    expect(made.version).toBeLessThan((now + 10 * 60_000) * 1000);
    const { items } = await standby.request<{ items: { name: string }[] }>("GET", "/api/domains");
    expect(items.map((item) => item.name)).not.toContain("x");
  });
});

describe("a poison change (R10)", () => {
  it("goes to the dead-letter queue alone with its reason; its neighbours in the same packed message are applied, other domains go on", async () => {
    const queues = runtime.production.queues;
    const poisoned = unique("poisoned");
    const item = (sk: string, kind: string, id: string, data: object, n: number) => ({
      pk: `DOMAIN#${poisoned}`,
      sk,
      kind,
      id,
      domain: poisoned,
      version: Date.now() * 1000 + n,
      origin: "local-primary",
      updatedAt: Date.now(),
      data,
    });
    const poison = item(
      "SERVICE#bad",
      "service",
      "bad",
      { protocol: "SFTP", ip: "10.0.0.1", port: 70000 },
      1,
    );
    const before = item("DOMAIN", "domain", poisoned, { description: "", limits: {} }, 0);
    const after = item("GROUP#after", "group", "after", { description: "after the poison" }, 2);
    const deadLetteredBefore = (await status()).queue.deadLettered;
    // One packed message, as capture sends a domain's changes: the poison change between two.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.queueUrl,
        MessageBody: JSON.stringify({ items: [before, poison, after] }),
        MessageGroupId: poisoned,
        MessageDeduplicationId: unique("poison"),
      }),
    );
    const domain = unique("healthy");
    await production.request("PUT", `/api/domains/${domain}`, {});

    await waitFor(
      async () => (await standby.request("GET", `/api/domains/${domain}`)) !== undefined,
      20_000,
    );
    await waitFor(
      async () =>
        (await standby.request("GET", `/api/domains/${poisoned}/groups/after`)) !== undefined,
      20_000,
    );
    await waitFor(
      async () => (await status()).queue.deadLettered === deadLetteredBefore + 1,
      20_000,
    );
    expect(await standby.request("GET", `/api/domains/${poisoned}`)).toBeDefined();
    const missing = await apiError(standby.request("GET", `/api/domains/${poisoned}/services/bad`));
    expect(missing.status).toBe(404);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        WaitTimeSeconds: 1,
      }),
    );
    const kept = Messages.find((message) => message.Body?.includes(poisoned));
    expect(JSON.parse(kept?.Body ?? "{}")).toEqual({ items: [poison] });
    expect(kept?.MessageAttributes?.reason?.StringValue).toMatch(/invalid service: port/);
    expect((await status()).sync.state).toBe("active");
    const rejected = runtime.production.bus
      .events()
      .find((event) => event.detail.Reason?.includes("rejected"));
    expect(rejected?.detail.Success).toBe(false);
  });
});

describe("resume while the dead-letter queue is being moved back (R9)", () => {
  it("answers 409 with the move's progress, and the move still delivers everything", async () => {
    const { dlqUrl, dlqArn, queueArn } = runtime.production.queues;
    const domains = [unique("moved"), unique("moved"), unique("moved")];
    for (const domain of domains) {
      const item = {
        pk: `DOMAIN#${domain}`,
        sk: "DOMAIN",
        kind: "domain",
        id: domain,
        domain,
        version: Date.now() * 1000,
        origin: "local-primary",
        updatedAt: Date.now(),
        data: { description: "moved back", limits: {} },
      };
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: dlqUrl,
          MessageBody: JSON.stringify({ item }),
          MessageGroupId: domain,
          MessageDeduplicationId: unique("dlq"),
        }),
      );
    }
    // A move at one message a second: still running when the operator resumes.
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlqArn,
        DestinationArn: queueArn,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );

    const error = await apiError(production.request("POST", "/api/failover/resume"));

    expect(error.status).toBe(409);
    expect(error.message).toMatch(/already being moved back \(\d+ of \d+ messages\)/);
    for (const domain of domains)
      await waitFor(() => standby.request("GET", `/api/domains/${domain}`), 20_000);
    // Once the move has ended, resume is accepted again.
    await waitFor(async () => {
      const { Results = [] } = await sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 1 }),
      );
      return Results[0]?.Status === "COMPLETED";
    }, 10_000);
    await resumeAndDrain();
  });
});
