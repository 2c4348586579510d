import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createSqsServer } from "local-aws-sqs";

export interface SqsServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts the in-process SQS-compatible server (JSON protocol, FIFO, DLQ) on 127.0.0.1. */
export async function startSqsServer(port: number): Promise<SqsServer> {
  const server = await createSqsServer({
    port,
    hostname: "127.0.0.1",
    region: "local",
    emulateQueueCreationLifecycle: false,
  });
  countLikeSqs(server);
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * local-aws-sqs counts a message that is in flight in `ApproximateNumberOfMessages` too (every
 * message not delayed); SQS counts the visible ones only. Its GetQueueAttributes answer is
 * corrected here, so the status counts one message once (issue 28.5), as in the cloud.
 */
function countLikeSqs(server: Server): void {
  const handlers = server.listeners("request") as Handler[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    if (request.headers["x-amz-target"] === "AmazonSQS.GetQueueAttributes") {
      const end = response.end.bind(response) as (body?: unknown) => ServerResponse;
      response.end = ((body?: unknown) => end(visibleOnly(body))) as ServerResponse["end"];
    }
    for (const handler of handlers) handler(request, response);
  });
}

function visibleOnly(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    const answer = JSON.parse(body) as { Attributes?: Record<string, string> };
    const attributes = answer.Attributes;
    const all = Number(attributes?.ApproximateNumberOfMessages);
    const inFlight = Number(attributes?.ApproximateNumberOfMessagesNotVisible);
    if (!attributes || !Number.isFinite(all) || !Number.isFinite(inFlight)) return body;
    attributes.ApproximateNumberOfMessages = String(Math.max(0, all - inFlight));
    return JSON.stringify(answer);
  } catch {
    return body;
  }
}
