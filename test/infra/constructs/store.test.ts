import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, it } from "vitest";
import { configTableDefinition } from "../../../shared/adapters/config-table.ts";
import { historyTableDefinition } from "../../../shared/adapters/history-table.ts";
import { loadTemplates, template } from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("store", () => {
  it("is the table configTableDefinition() describes (the one the local runtime creates)", () => {
    const definition = configTableDefinition("ignored");
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: definition.BillingMode,
      KeySchema: definition.KeySchema,
      AttributeDefinitions: Match.arrayEquals(definition.AttributeDefinitions ?? []),
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes,
      StreamSpecification: { StreamViewType: definition.StreamSpecification?.StreamViewType },
    });
  });

  it("has the stream NEW_AND_OLD_IMAGES, point-in-time recovery, encryption and deletion protection", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      }),
    });
  });

  it("expires short-lived LOCAL records by TTL on expiresAt (epoch seconds, DynamoConfigStore.putLocal)", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("keeps history (R26) in the table historyTableDefinition() describes: no stream, TTL ends the retention", () => {
    const definition = historyTableDefinition("ignored");
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: definition.BillingMode,
        KeySchema: definition.KeySchema,
        AttributeDefinitions: Match.arrayEquals(definition.AttributeDefinitions ?? []),
        StreamSpecification: Match.absent(),
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      }),
    });
  });

  it("tells the functions history's retention (the config's historyRetentionDays, 7 by default)", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ HISTORY_DAYS: "7" }) },
    });
  });
});
