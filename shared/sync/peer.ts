/** The version of the /api/sync protocol both sides must speak. */
export const SYNC_PROTOCOL = 2;

export type PeerFailure =
  | "dns"
  | "connect"
  | "tls"
  | "timeout"
  | "auth"
  | "version"
  | "loop"
  | "http";

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
