import { createServer } from "node:net";
import { LocalStartupError } from "./dynamodb-local.ts";

/** A TCP port on 127.0.0.1 that is free right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port that local mode is told to listen on, and where the user set it. */
export interface RequestedPort {
  readonly port: number;
  /** How the message names it, e.g. `production, MFT_PRIMARY_PORT`. */
  readonly name: string;
}

/**
 * Fails at once, with a one-line LocalStartupError, when a requested port is taken: checked
 * before anything starts, instead of after DynamoDB Local and the first region are up.
 * Port 0 (any free port) is never taken.
 */
export async function checkPortsFree(ports: readonly RequestedPort[]): Promise<void> {
  for (const { port, name } of ports) {
    if (port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "EADDRINUSE"
            ? new LocalStartupError(`port ${port} is already in use (${name})`)
            : error,
        ),
      );
      server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
  }
}
