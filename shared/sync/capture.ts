import { type ConfigItem, isReplicated, partitionOf } from "../model/items.ts";
import type { QueuedChange } from "../ports.ts";

/**
 * The queue message for one stream record, or undefined when the record is not to be sent:
 * local state (R3), an item applied here by sync (R18: only this server's own changes go out),
 * a run-state change (R2: same version), or a removal (config deletes are tombstones; a hard
 * delete is housekeeping).
 */
export function capturedChange(
  newImage: Record<string, unknown> | undefined,
  oldImage: Record<string, unknown> | undefined,
  eventId: string,
  serverId: string,
): QueuedChange | undefined {
  if (!newImage) return undefined;
  const item = newImage as unknown as ConfigItem;
  if (!isReplicated(item) || item.origin !== serverId) return undefined;
  if (oldImage?.version === item.version) return undefined;
  return {
    body: JSON.stringify({ item }),
    groupId: partitionOf(item),
    deduplicationId: eventId,
  };
}
