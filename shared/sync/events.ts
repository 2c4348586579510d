/** The event every automatic batch and every full sync publishes (R16). */
export const EVENT_SOURCE = "mft.failover";
export const SYNC_EVENT = "Failover Synchronization";

export const syncModes = ["automatic", "on-demand", "takeover", "failback"] as const;
export type SyncMode = (typeof syncModes)[number];

export interface SyncEventDetail {
  readonly Success: boolean;
  /** Automatic sync, a full sync, the failover's takeover (R19a) or a failback run (R19). */
  readonly Mode: SyncMode;
  /**
   * Server ids / endpoints of both sides: `Primary` is production, named as SPEC R16 names the
   * event's variables (trigger conditions and templates use it), so it keeps that name.
   */
  readonly Primary: string;
  readonly Failover: string;
  readonly StartedAt: string;
  readonly FinishedAt: string;
  /** Changes applied (automatic) or items copied (on-demand). */
  readonly Items: number;
  readonly Reason?: string;
  /** What happened, when it is not a failure (e.g. automatic sync resumed by itself). */
  readonly Message?: string;
  /** The full sync's id (on-demand only). */
  readonly SyncId?: string;
  /** The outcome of this server's previous event of the same Mode; absent before the first. */
  readonly PreviousSuccess?: boolean;
  /** Success differs from the previous outcome of the same Mode (none: counted a success). */
  readonly Changed?: boolean;
}

export interface SyncEvent {
  readonly source: typeof EVENT_SOURCE;
  readonly "detail-type": typeof SYNC_EVENT;
  readonly detail: SyncEventDetail;
}

export const syncEvent = (detail: SyncEventDetail): SyncEvent => ({
  source: EVENT_SOURCE,
  "detail-type": SYNC_EVENT,
  detail,
});
