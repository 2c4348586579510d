import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { topology } from "../../../infra/topology.ts";
import { MESSAGE_GROUPS } from "../../../shared/sync/capture.ts";
import {
  CALLS_PER_SECOND_PER_FORWARD,
  functionId,
  loadTemplates,
  only,
  queueId,
  template,
} from "./template.ts";

beforeAll(loadTemplates, 180_000);

describe("pipeline (R7–R10)", () => {
  it("feeds capture from the stream with bisect, retries until the max age, an on-failure queue and partial batch responses", () => {
    const { stream } = topology.capture;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("DynamoDB stream") },
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^StoreTable"), "StreamArn"] },
      StartingPosition: stream.startingPosition,
      BatchSize: stream.batchSize,
      MaximumBatchingWindowInSeconds: stream.maximumBatchingWindowSeconds,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: stream.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: stream.maximumRecordAgeSeconds,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [Match.stringLikeRegexp("CaptureFailures"), "Arn"] },
        },
      },
    });
  });

  it("lets new versions of replicated items of any origin through to capture (R3: DOMAIN#… and SERVER, never LOCAL; R26: history keeps what sync applied too)", () => {
    const mapping = only(
      template.findResources("AWS::Lambda::EventSourceMapping", {
        Properties: { BisectBatchOnFunctionError: true },
      }),
    ).props as { FilterCriteria: { Filters: { Pattern: string }[] } };
    expect(mapping.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern))).toEqual([
      {
        eventName: ["INSERT", "MODIFY"],
        dynamodb: { Keys: { pk: { S: [{ prefix: "DOMAIN#" }, "SERVER"] } } },
      },
    ]);
  });

  it("queues changes on a FIFO queue with a FIFO dead-letter queue after maxReceiveCount (R8–R10)", () => {
    const dlq = queueId({ FifoQueue: true, RedrivePolicy: Match.absent() });
    template.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: topology.forward.queue.visibilityTimeoutSeconds,
      MessageRetentionPeriod: topology.forward.queue.retentionDays * 24 * 3600,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] },
        maxReceiveCount: topology.forward.queue.maxReceiveCount,
      },
      SqsManagedSseEnabled: true,
    });
  });

  it("feeds forward from the FIFO queue with partial batch responses", () => {
    const queue = queueId({ FifoQueue: true, RedrivePolicy: Match.anyValue() });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("FIFO queue") },
      EventSourceArn: { "Fn::GetAtt": [queue, "Arn"] },
      BatchSize: topology.forward.source.batchSize,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("bounds forward's concurrency (FIFO scales with message groups) below the peer's sync budget", () => {
    const { maxConcurrency } = topology.forward.source;
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("FIFO queue") },
      ScalingConfig: { MaximumConcurrency: maxConcurrency },
    });
    expect(maxConcurrency).toBeGreaterThanOrEqual(2); // Lambda's minimum
    // Enough message groups (a FIFO source runs one batch per group at a time) to keep it busy.
    expect(MESSAGE_GROUPS).toBeGreaterThanOrEqual(maxConcurrency);
    // What one sender can produce stays within the receiving side's sync throttle.
    const { rateLimit, burstLimit } = topology.adminApi.syncThrottle;
    expect(maxConcurrency * CALLS_PER_SECOND_PER_FORWARD).toBeLessThan(rateLimit);
    expect(maxConcurrency).toBeLessThan(burstLimit);
  });

  it("lets forward disable its own event source mapping only (R9 suspend)", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
            Resource: {
              "Fn::Join": [
                "",
                Match.arrayWith([{ Ref: Match.stringLikeRegexp("ForwardSqsEventSource") }]),
              ],
            },
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp("ForwardRole") }],
    });
  });
});
