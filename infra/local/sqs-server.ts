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
