import { describe, expect, inject, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { admin, apiError, productionClient, unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";
import { cli } from "./run.ts";

describe("a user's groups must exist (admin API PUT)", () => {
  it("refuses a user naming a missing group: 400 naming `groups`, nothing saved", async () => {
    const domain = unique("grp");
    await cli("domains", "put", domain);
    await cli("groups", "put", domain, "staff");

    const result = await cli(
      "users",
      "put",
      domain,
      "dan",
      "password=dan-secret-1",
      "homeDirectory=/data/dan",
      'groups=["staff","ops","audit"]',
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: 400 invalid_request: groups: no group ops, audit in domain ${domain}: create them first\n`,
    );
    expect((await cli("users", "get", domain, "dan")).code).toBe(1);
  });

  it("takes a user whose groups all exist, and a deleted group counts as missing", async () => {
    const domain = unique("grp");
    await cli("domains", "put", domain);
    await cli("groups", "put", domain, "staff");
    await cli("groups", "put", domain, "gone");
    await cli("groups", "delete", domain, "gone");
    const user = ["password=eve-secret-1", "homeDirectory=/data/eve"];

    const ok = await cli("users", "put", domain, "eve", ...user, 'groups=["staff"]');
    const deleted = await cli("users", "put", domain, "eve", ...user, 'groups=["gone"]');

    expect(ok.code).toBe(0);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain(`groups: no group gone in domain ${domain}`);
  });

  it("a group of another domain does not count", async () => {
    const [mine, other] = [unique("grp"), unique("grp")];
    await cli("domains", "put", mine);
    await cli("domains", "put", other);
    await cli("groups", "put", other, "staff");

    const error = await apiError(
      productionClient().request("PUT", `/api/domains/${mine}/users/fay`, {
        password: "fay-secret-1",
        homeDirectory: "/data/fay",
        groups: ["staff"],
      }),
    );

    expect(error.status).toBe(400);
    expect(error.message).toContain(`groups: no group staff in domain ${mine}`);
  });

  it("is not applied to what automatic sync writes on the failover: it has production's users", async () => {
    const domain = unique("grp");
    const failover = new AdminClient(inject("failoverUrl"), admin());
    const base = `/api/domains/${domain}`;
    await productionClient().request("PUT", base, {});
    await productionClient().request("PUT", `${base}/groups/ops`, {});
    await waitFor(() => failover.request("GET", `${base}/groups/ops`).catch(() => false), 10_000);
    // Gone on the failover only (a change made there is not sent back to production).
    await failover.request("DELETE", `${base}/groups/ops`);

    await productionClient().request("PUT", `${base}/users/gus`, {
      password: "gus-secret-1",
      homeDirectory: "/data/gus",
      groups: ["ops"],
    });

    const user = await waitFor(
      () =>
        failover.request<{ groups: string[] }>("GET", `${base}/users/gus`).catch(() => undefined),
      10_000,
      "gus on the failover",
    );
    expect(user.groups).toEqual(["ops"]);
  });
});
