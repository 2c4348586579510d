import type { FailoverSettings } from "../model/schemas.ts";
import type { Credentials } from "../ports.ts";

/** The version of the /api/sync protocol both sides must speak. */
export const SYNC_PROTOCOL = 3;

export type PeerFailure =
  | "dns"
  | "connect"
  | "tls"
  | "timeout"
  | "auth"
  | "version"
  | "loop"
  | "http";

type PeerFactory = (
  settings: FailoverSettings,
  credentials: Credentials,
  deadline?: number,
) => unknown;

/**
 * The same dependencies, with every failover client bounded by `deadline` (epoch ms): what a
 * handler passes with its own time limit, so that no call outlives the function (R9).
 */
export function withDeadline<T extends { readonly peerFor: PeerFactory }>(
  deps: T,
  deadline: number,
): T {
  const peerFor: PeerFactory = (settings, credentials) =>
    deps.peerFor(settings, credentials, deadline);
  return { ...deps, peerFor } as T;
}

/** Why a call to the failover failed, in the terms R6 asks for; never carries credentials. */
export class PeerError extends Error {
  constructor(
    readonly failure: PeerFailure,
    message: string,
    /** Worth retrying (R9): network trouble and 5xx, not a refusal. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "PeerError";
  }
}
