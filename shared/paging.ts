import type { Page } from "./ports.ts";

/** Every item of a paged listing, one page in memory at a time. */
export async function* paged<T>(read: (cursor?: string) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    yield* page.items;
    cursor = page.cursor;
  } while (cursor);
}

/** Every item of a paged listing, in one array. */
export async function allPages<T>(read: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of paged(read)) items.push(item);
  return items;
}
