// Pages read one after another, each from the cursor the previous page returned, until the API
// says there is no next one. A short page (even an empty one) does not end the listing: the API
// may return fewer than `limit` items and still have more, and stopping there skips items.
import { LisolooError } from "./errors.js";

export interface Page<Item> {
  items: Item[];
  /** Where the next page starts; null on the last page. */
  next: string | null;
}

export async function* paginate<Item>(
  readPage: (cursor: string | null) => Promise<Page<Item>>,
  start: string | null = null,
): AsyncGenerator<Item, void, undefined> {
  let cursor = start;
  do {
    const page = await readPage(cursor);
    yield* page.items;
    // A cursor handed back unchanged would repeat the same page for ever.
    if (page.next !== null && page.next === cursor) {
      throw new LisolooError(`the API returned the cursor ${JSON.stringify(cursor)} twice`);
    }
    cursor = page.next;
  } while (cursor !== null);
}
