import type { IncomingMessage, ServerResponse } from "node:http";
import { describeError } from "../../../handler/errors";
import type { Logger } from "../../../handler/log";
import type { Asset } from "./assets";
import { refuse } from "./guard";
import { type Routes, sendJson } from "./http";
import { sendAsset } from "./routes/page-assets";

export interface RouterOptions {
  readonly assets: ReadonlyMap<string, Asset>;
  readonly routes: Routes;
  /** The port the server listens on, once it does (the guard checks Host against it). */
  readonly port: () => number;
  readonly log: Logger;
}

/**
 * Every request: refused by the guard (foreign Host, cross-origin change), else one of the page's
 * files, else its route; a route that fails answers 502 with the reason and is logged.
 */
export function createRouter(
  options: RouterOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const refusal = refuse(request, options.port());
    if (refusal !== undefined) {
      request.resume();
      return sendJson(response, refusal.status, { error: refusal.reason });
    }
    const url = new URL(request.url ?? "/", "http://gallery.invalid");
    const method = request.method ?? "GET";
    const asset = options.assets.get(url.pathname);
    if (asset !== undefined && (method === "GET" || method === "HEAD")) {
      return sendAsset(response, asset, method === "HEAD");
    }
    const route = options.routes[url.pathname];
    const handler = route?.[method];
    if (handler === undefined) {
      request.resume();
      return sendJson(response, route === undefined ? 404 : 405, {
        error: route === undefined ? "not found" : `${method} is not allowed here`,
      });
    }
    await handler(request, response, url.searchParams);
  };
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      const { code, reason } = describeError(error);
      options.log.log("warn", { msg: "gallery: request failed", url: request.url, code, reason });
      if (!response.headersSent) sendJson(response, 502, { error: `${code}: ${reason}` });
      else response.destroy();
    });
  };
}
