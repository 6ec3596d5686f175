import type { ServerResponse } from "node:http";
import type { Asset } from "../assets";
import { COMMON_HEADERS, PAGE_POLICY } from "../guard";

/** One of the page's own files (HTML, script, style), under the page's policy. */
export function sendAsset(response: ServerResponse, asset: Asset, headOnly: boolean): void {
  response.writeHead(200, {
    ...COMMON_HEADERS,
    "Content-Type": asset.type,
    "Content-Length": asset.body.length,
    "Content-Security-Policy": PAGE_POLICY,
  });
  response.end(headOnly ? undefined : asset.body);
}
