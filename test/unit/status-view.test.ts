import { describe, expect, it } from "vitest";
import { formatStatus, notInStep, type StatusView } from "../../bin/commands/status-view.ts";

// `failover status` as text (issue 28.4, 28.5): what a failover says, and when it is not in step.
const NOW = Date.parse("2026-12-07T15:00:00Z");
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

const production: StatusView = {
  module: { enabled: true, autoSync: true },
  sync: { state: "active" },
  connection: { state: "connected", since: ago(600) },
  heartbeat: {
    intervalSeconds: 60,
    lastSentAt: ago(20),
    lastAppliedAt: ago(19),
    lagMs: 200,
    missed: false,
  },
  receiving: null,
  lastReceived: null,
  queue: { queued: 0, inFlight: 0, deadLettered: 0 },
  lag: { windowSeconds: 300, samples: 0, p50Ms: null, p99Ms: null },
  lastEvent: null,
  lastFullSync: null,
  lastVerify: null,
  lastTakeover: null,
};

const receiving = { from: "us-east-1", lastHeartbeatAt: ago(18), ageSeconds: 18.2, missed: false };

const standby: StatusView = {
  ...production,
  module: { enabled: false, autoSync: false },
  sync: { state: "off" },
  connection: null,
  heartbeat: {
    intervalSeconds: null,
    lastSentAt: null,
    lastAppliedAt: null,
    lagMs: null,
    missed: false,
  },
  receiving,
  lastReceived: { from: "us-east-1", at: ago(180), items: 3 },
};

const line = (text: string, label: string) =>
  text.split("\n").find((row) => row.startsWith(`${label} `));

describe("failover status on a failover (28.4)", () => {
  it("says it is a failover, whom it receives from, the last change and heartbeat, takeover", () => {
    const text = formatStatus(standby, NOW);

    expect(line(text, "state")).toMatch(/^state +failover of us-east-1: it applies the changes/);
    expect(text).not.toContain("failover set enabled=true");
    expect(line(text, "receiving")).toMatch(
      /from us-east-1; last heartbeat 14:59:42Z .*18.2 s old$/,
    );
    expect(line(text, "last change")).toMatch(/3 changes from us-east-1 applied 14:57:00Z/);
    expect(line(text, "takeover")).toMatch(/none: a standby/);
    // What only a sender has is left out.
    expect(line(text, "connection")).toBeUndefined();
    expect(line(text, "lag")).toBeUndefined();
  });

  it("after a takeover: in service since when, by whom; a missed heartbeat is expected then", () => {
    const text = formatStatus(
      {
        ...standby,
        receiving: { ...receiving, ageSeconds: 400, missed: true },
        lastTakeover: { at: ago(120), by: "admin" },
      },
      NOW,
    );

    expect(line(text, "state")).toMatch(/failover of us-east-1, in service since its takeover/);
    expect(line(text, "receiving")).toContain("MISSED — expected after a takeover");
    expect(line(text, "takeover")).toMatch(/14:58:00Z .* by admin: this server serves/);
  });

  it("a server that is nobody's failover still gets the advice to turn sync on", () => {
    const text = formatStatus({ ...standby, receiving: null, lastReceived: null }, NOW);

    expect(line(text, "state")).toContain("failover set enabled=true autoSync=true");
  });
});

describe("failover status: lines that say what they count (28.5)", () => {
  it("counts one message once, as a change on its way", () => {
    const one = formatStatus({ ...production, queue: { queued: 0, inFlight: 1, deadLettered: 0 } });
    const none = formatStatus(production);

    expect(line(one, "queue")).toMatch(
      /1 change on its way \(0 waiting, 1 being sent or waiting out a retry\); 0 in the dead-letter queue$/,
    );
    expect(line(none, "queue")).toMatch(/no changes on their way; 0 in the dead-letter queue$/);
  });

  it("says when the first heartbeat comes instead of a dash", () => {
    const text = formatStatus({ ...production, connection: null, heartbeat: standby.heartbeat });

    expect(line(text, "heartbeat")).toMatch(
      /none sent yet: the monitor sends the first one interval/,
    );
    expect(line(text, "heartbeat")).not.toMatch(/–$/);
  });
});

describe("notInStep: the reasons `failover status` exits 6 for (28.5)", () => {
  it("is empty when in step, and when automatic sync is merely off", () => {
    expect(notInStep(production)).toEqual([]);
    expect(notInStep(standby)).toEqual([]);
  });

  it("names each way of not being in step", () => {
    expect(
      notInStep({
        ...production,
        sync: { state: "suspended", cause: "unreachable" },
        connection: { state: "unreachable", since: ago(200) },
        heartbeat: { ...production.heartbeat, missed: true },
        queue: { queued: 0, inFlight: 0, deadLettered: 2 },
      }),
    ).toEqual([
      "automatic sync is suspended",
      "the failover is unreachable",
      "a heartbeat was missed",
      "2 changes in the dead-letter queue",
    ]);
    expect(notInStep({ ...standby, receiving: { ...receiving, missed: true } })).toEqual([
      "production's heartbeats stopped arriving",
    ]);
  });
});
