import { describe, expect, it } from "vitest";
import { capturedChange } from "../../shared/sync/capture.ts";

const domain = {
  pk: "DOMAIN#acme",
  sk: "DOMAIN",
  kind: "domain",
  id: "acme",
  domain: "acme",
  version: 2_000,
  origin: "prod",
  updatedAt: 2,
  data: { description: "x", limits: {} },
  running: false,
};

describe("capture: what goes into the queue (R2, R3, R7, R18)", () => {
  it("sends this server's change of a replicated item, grouped by domain", () => {
    const old = { ...domain, version: 1_000 };
    expect(capturedChange(domain, old, "event-1", "prod")).toEqual({
      body: JSON.stringify({ item: domain }),
      groupId: "acme",
      deduplicationId: "event-1",
    });
  });

  it("sends nothing for a run-state change (same version), local state, a peer's item or a removal", () => {
    expect(capturedChange({ ...domain, running: true }, domain, "e", "prod")).toBeUndefined();
    expect(capturedChange({ pk: "LOCAL", sk: "x", origin: "prod" }, undefined, "e", "prod")).toBe(
      undefined,
    );
    expect(capturedChange(domain, undefined, "e", "failover")).toBeUndefined();
    expect(capturedChange(undefined, domain, "e", "prod")).toBeUndefined();
  });
});
