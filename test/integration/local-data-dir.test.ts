import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it, onTestFinished } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { LocalStartupError } from "../../infra/local/dynamodb-local.ts";
import { freePort } from "../../infra/local/ports.ts";
import { type LocalRuntime, startLocal } from "../../infra/local/runtime.ts";
import { unique } from "../support/api.ts";
import { waitFor } from "../support/wait.ts";

/** Local mode with MFT_DATA_DIR: each region keeps its own DynamoDB Local database on disk. */
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mft-data-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts local mode as `npm start` does: the same ports and admin password each time. */
async function starter(dir: string): Promise<() => Promise<LocalRuntime>> {
  // Production's stored failover settings name the failover's port and admin password.
  const [productionPort, failoverPort] = await Promise.all([freePort(), freePort()]);
  return () =>
    startLocal({
      productionPort,
      failoverPort,
      seed: false,
      dataDir: dir,
      adminPassword: "data-dir-test-password",
    });
}

const clients = (runtime: LocalRuntime) => ({
  production: new AdminClient(runtime.production.url, runtime.admin),
  standby: new AdminClient(runtime.failover.url, runtime.admin),
});

async function domainNames(client: AdminClient): Promise<string[]> {
  const { items } = await client.request<{ items: { name: string }[] }>("GET", "/api/domains");
  return items.map((item) => item.name);
}

async function onFailover(standby: AdminClient, domain: string): Promise<void> {
  await waitFor(async () => (await domainNames(standby)).includes(domain), 20_000, domain);
}

describe("MFT_DATA_DIR", () => {
  it("keeps each region's tables, apart, across a restart, and sync picks up again", async () => {
    const dir = join(await dataDir(), "new");
    const start = await starter(dir);
    const synced = unique("kept");
    const failoverOnly = unique("standby-own");

    const first = await start();
    // The data folder it made holds the tables: readable by the user who runs it only (R25).
    for (const made of [dir, join(dir, "dynamodb")])
      expect((await stat(made)).mode & 0o777).toBe(0o700);
    try {
      const { production, standby } = clients(first);
      await production.request("PUT", `/api/domains/${synced}`, { description: "kept" });
      await standby.request("PUT", `/api/domains/${failoverOnly}`, { description: "own" });
      await onFailover(standby, synced);
    } finally {
      await first.stop();
    }

    const second = await start();
    onTestFinished(() => second.stop());
    const { production, standby } = clients(second);
    expect(await domainNames(production)).toEqual([synced]);
    expect((await domainNames(standby)).sort()).toEqual([synced, failoverOnly].sort());
    // Each region's database holds its own tables only, as each AWS region's DynamoDB does.
    for (const region of [second.production, second.failover]) {
      const dynamo = new DynamoDBClient({ ...region.awsConfig, endpoint: second.dynamoEndpoint });
      expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual([
        region.tableName,
        region.historyTableName,
      ]);
    }
    // The stream of the reopened table feeds the pipeline again.
    const later = unique("later");
    await production.request("PUT", `/api/domains/${later}`, { description: "after restart" });
    await onFailover(standby, later);
  }, 120_000); // two start-ups of a whole runtime, each waited for up to 60 s

  it("refuses the single shared database of earlier versions with a one-line reason", async () => {
    const dir = await dataDir();
    await mkdir(join(dir, "dynamodb"));
    await writeFile(join(dir, "dynamodb", "shared-local-instance.db"), "");

    const starting = (await starter(dir))();

    await expect(starting).rejects.toBeInstanceOf(LocalStartupError);
    await expect(starting).rejects.toThrow(/earlier version.*empty MFT_DATA_DIR/);
  });
});
