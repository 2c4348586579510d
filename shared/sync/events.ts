/** The event every automatic batch and every full sync publishes (R16). */
export const EVENT_SOURCE = "mft.failover";
export const SYNC_EVENT = "Failover Synchronization";

export interface SyncEventDetail {
  readonly Success: boolean;
  readonly Mode: "automatic" | "on-demand";
  /** Server ids / endpoints of both sides. */
  readonly Primary: string;
  readonly Failover: string;
  readonly StartedAt: string;
  readonly FinishedAt: string;
  /** Changes applied (automatic) or items copied (on-demand). */
  readonly Items: number;
  readonly Reason?: string;
  /** The full sync's id (on-demand only). */
  readonly SyncId?: string;
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
