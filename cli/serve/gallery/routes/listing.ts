import { type Cursor, STATES, type State } from "../catalogue";
import { type GalleryContext, type Route, sendJson } from "../http";

/** Objects per page of the listing, at most. */
const MAX_PAGE = 100;

/**
 * GET /api/objects?limit=N&after=CURSOR&state=STATE: one page of the source objects, newest
 * first (only those in STATE when given), with the counts of the whole bucket.
 */
export function listingRoute({ catalogue }: GalleryContext): Route {
  return async (_request, response, query) => {
    const cursor = parseCursor(query.get("after"));
    const limit = Number(query.get("limit") ?? "48");
    const state = query.get("state") ?? undefined;
    if (
      cursor === null ||
      !Number.isInteger(limit) ||
      limit < 1 ||
      limit > MAX_PAGE ||
      (state !== undefined && !STATES.includes(state as State))
    ) {
      return sendJson(response, 400, {
        error: `expected ?limit=1..${MAX_PAGE}, an "after" cursor from a previous page and a state (${STATES.join(", ")})`,
      });
    }
    const page = await catalogue.page(cursor, limit, state as State | undefined);
    sendJson(response, 200, {
      objects: page.cards,
      total: catalogue.size,
      counts: catalogue.counts(),
      next: page.next === undefined ? null : formatCursor(page.next),
    });
  };
}

function formatCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.key])).toString("base64url");
}

/** undefined: from the start; null: not a cursor. */
function parseCursor(text: string | null): Cursor | undefined | null {
  if (text === null || text === "") return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      typeof value[0] === "number" &&
      typeof value[1] === "string" &&
      value.length === 2
    ) {
      return { time: value[0], key: value[1] };
    }
  } catch {
    // not JSON: not a cursor
  }
  return null;
}
