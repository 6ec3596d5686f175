import type { ServerResponse } from "node:http";
import type { HandlerConfig } from "../../../../handler/config";
import { sendJson } from "../http";

/** The ?key= of an upload or a delete, when it is a key under the source prefix. */
export function sourceKey(query: URLSearchParams, config: HandlerConfig): string | undefined {
  const key = query.get("key");
  return key !== null && key !== "" && key.startsWith(config.sourcePrefix) ? key : undefined;
}

export function badKey(response: ServerResponse, config: HandlerConfig): void {
  sendJson(response, 400, {
    error: `expected ?key=KEY, a key under the source prefix "${config.sourcePrefix}"`,
  });
}
