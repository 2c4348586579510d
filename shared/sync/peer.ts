import type { FailoverSettings } from "../model/schemas.ts";
import type { Credentials } from "../ports.ts";

/** The version of the /api/sync protocol both sides must speak. */
export const SYNC_PROTOCOL = 3;

/**
 * Changes one `POST /api/sync/events` carries at most: a forward invocation's ten packed
 * messages (64 KB each, about 1 KB a change) fit in one call.
 */
export const MAX_PEER_CHANGES = 1_000;

export type PeerFailure =
  | "dns"
  | "connect"
  | "tls"
  | "timeout"
  | "auth"
  | "version"
  | "loop"
  | "http";

/**
 * API Gateway's integration limit: an admin API call answers within it, counted from when the
 * gateway received the request (infra/topology.ts sizes the admin API function to it).
 */
export const GATEWAY_LIMIT_MS = 29_000;

/** The failover's name in events and run records: where it is. */
export const peerName = (settings: FailoverSettings) => `${settings.host ?? "?"}:${settings.port}`;

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

/** What an answer needs once the failover's call ended: a read or two, the JSON. */
const ANSWER_MS = 2_000;

/**
 * The deadline of an admin API call's failover calls: in time for its answer to make API
 * Gateway's limit from `receivedAt` (the gateway's clock: a cold start counts too) and within
 * the function's own remaining time. A receipt time in the future or past the limit is clamped.
 */
export function answerDeadline(receivedAt: number, remainingMs: number, now = Date.now()): number {
  const received = Number.isFinite(receivedAt)
    ? Math.min(now, Math.max(now - GATEWAY_LIMIT_MS, receivedAt))
    : now;
  return Math.min(received + GATEWAY_LIMIT_MS, now + remainingMs) - ANSWER_MS;
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
