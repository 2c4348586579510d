import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { AdminClient } from "../../bin/api-client.ts";
import { apiError, productionClient, unique } from "../support/api.ts";
import { startOwnRuntime } from "../support/runtime.ts";

describe("regions of a test file's own, on the run's DynamoDB Local (startOwnRuntime)", () => {
  it("keep their tables apart from the shared runtime's, and delete only theirs when they stop", async () => {
    const shared = productionClient();
    const before = unique("shared");
    await shared.request("PUT", `/api/domains/${before}`, {});
    const own = await startOwnRuntime();
    const tables = new DynamoDBClient({
      ...own.production.awsConfig,
      endpoint: own.dynamoEndpoint,
    });
    try {
      const mine = new AdminClient(own.production.url, own.admin);
      expect((await apiError(mine.request("GET", `/api/domains/${before}`))).status).toBe(404);
      const theirs = unique("own");
      await mine.request("PUT", `/api/domains/${theirs}`, {});
      expect((await apiError(shared.request("GET", `/api/domains/${theirs}`))).status).toBe(404);
      expect((await tables.send(new ListTablesCommand({}))).TableNames).toEqual([
        own.production.tableName,
        own.production.historyTableName,
      ]);
      // History keeps a change for its retention period only, by TTL as in the cloud (R26).
      const { TimeToLiveDescription } = await tables.send(
        new DescribeTimeToLiveCommand({ TableName: own.production.historyTableName }),
      );
      expect(TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: "ENABLED",
        AttributeName: "expiresAt",
      });
    } finally {
      await own.stop();
    }
    expect((await tables.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    // The shared runtime's table outlived the other's stop.
    expect(await shared.request("GET", `/api/domains/${before}`)).toMatchObject({ name: before });
  });
});
