/**
 * The change of outcome a `Failover Synchronization` event tells (R16, R17): whether this
 * server's previous event of the same Mode succeeded, and whether this one differs. Kept where
 * the events are published, as a local (R3) value per Mode; a compare-and-set on it orders
 * events published side by side (parallel forward batches), each seeing the one before it.
 * So "tell me when it breaks" is `Success == false and Changed == true`, "when it heals"
 * `Success == true and Changed == true`, whatever the triggers' own conditions.
 */
import type { ConfigStore } from "../ports.ts";
import type { SyncEventDetail } from "../sync/events.ts";

const OUTCOME = "outcome/";

interface StoredOutcome {
  readonly success: boolean;
  readonly rev: number;
}

/** Records `detail`'s outcome and returns it with PreviousSuccess and Changed. */
export async function withOutcome(
  store: Pick<ConfigStore, "getLocal" | "putLocalIf">,
  detail: SyncEventDetail,
): Promise<SyncEventDetail> {
  const name = `${OUTCOME}${detail.Mode}`;
  for (;;) {
    const previous = await store.getLocal<StoredOutcome>(name);
    const answer = {
      ...detail,
      ...(previous ? { PreviousSuccess: previous.success } : {}),
      // A server that never published counts as healthy: its first success is no change.
      Changed: detail.Success !== (previous?.success ?? true),
    };
    // Only a change of outcome is written: the common case (success after success) costs a read.
    if (previous?.success === detail.Success) return answer;
    const next: StoredOutcome = { success: detail.Success, rev: (previous?.rev ?? 0) + 1 };
    if (await store.putLocalIf(name, next, previous?.rev)) return answer;
  }
}
