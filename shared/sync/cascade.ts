import { type ConfigItem, tombstone } from "../model/items.ts";
import type { ConfigStore } from "../ports.ts";

const PAGE = 100;

/**
 * After a domain's tombstone is stored, tombstone every live item of its partition with the
 * same version. It goes through the version rule, so a child written by a newer incarnation
 * of the domain survives; running it twice changes nothing.
 */
export async function deleteDomainCascade(store: ConfigStore, domainTombstone: ConfigItem) {
  let cursor: string | undefined;
  do {
    const page = await store.list(domainTombstone.pk, "", {
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
    });
    await Promise.all(
      page.items
        .filter((item) => item.sk !== domainTombstone.sk)
        .map((item) =>
          store.apply(
            tombstone(
              item,
              domainTombstone.version,
              domainTombstone.origin,
              domainTombstone.updatedAt,
            ),
          ),
        ),
    );
    cursor = page.cursor;
  } while (cursor);
}
