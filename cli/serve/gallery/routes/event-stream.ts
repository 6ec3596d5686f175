import type { ServerResponse } from "node:http";
import type { Change, Counts } from "../catalogue";
import { COMMON_HEADERS } from "../guard";
import type { GalleryContext, Route } from "../http";

export interface EventStream {
  /** GET /api/events: every change of the catalogue from now on, as Server-Sent Events. */
  readonly route: Route;
  /** Ends every open stream (at shutdown). */
  end(): void;
}

export function createEventStream({ catalogue }: GalleryContext): EventStream {
  const streams = new Set<ServerResponse>();
  return {
    route: async (request, response) => {
      response.writeHead(200, {
        ...COMMON_HEADERS,
        "Content-Type": "text/event-stream; charset=utf-8",
      });
      response.write("retry: 1000\n\n");
      streams.add(response);
      const unsubscribe = catalogue.subscribe((change) =>
        sendChange(response, change, { total: catalogue.size, counts: catalogue.counts() }),
      );
      request.on("close", () => {
        unsubscribe();
        streams.delete(response);
      });
    },
    end() {
      for (const stream of streams) stream.end();
    },
  };
}

/** One change as an SSE message, with the number of objects and their counts after it. */
function sendChange(
  response: ServerResponse,
  change: Change,
  totals: { total: number; counts: Counts },
): void {
  const { kind, ...data } = change;
  response.write(`event: ${kind}\ndata: ${JSON.stringify({ ...data, ...totals })}\n\n`);
}
