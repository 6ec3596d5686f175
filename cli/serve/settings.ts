/**
 * The local service's own settings (port, data folder, queue, retries), as rows like the
 * handler's (cli/settings.ts): `serve`'s flags, --help and docs/local.md derive from them.
 */
import path from "node:path";
import { boolean, integer, list, text } from "../../handler/parse";
import { SERVICE_SETTINGS, type Setting } from "../settings";

/** The project folder (dist/cli/serve/ -> project): the default data folder lives there. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** The local service's own settings (the handler's are in handler/settings.ts and cli/settings.ts). */
export const SERVE_SETTINGS = {
  port: {
    env: "THUMBNAILER_PORT",
    flag: { name: "port", arg: "N" },
    parse: integer(0, 65535),
    default: 4568,
    doc: "port to listen on; 0 picks a free one (the banner shows it)",
  },
  uiPort: {
    env: "THUMBNAILER_UI_PORT",
    flag: { name: "ui-port", arg: "N" },
    parse: integer(0, 65535),
    default: 4569,
    doc: "port of the gallery page (on 127.0.0.1); 0 picks a free one",
  },
  data: {
    env: "THUMBNAILER_DATA",
    flag: { name: "data", arg: "DIR" },
    // Spaces around a name are kept (a folder may have them); only spaces name no folder.
    parse: text(/\S/, "a folder (not only spaces)"),
    default: path.join(PROJECT_DIR, ".data"),
    shownDefault: "./.data",
    keepSpaces: true,
    doc: "data folder, kept across restarts (s3/: the buckets; failures.jsonl: the on-failure record)",
  },
  queueCapacity: {
    env: "THUMBNAILER_QUEUE_CAPACITY",
    flag: { name: "queue-capacity", arg: "N" },
    parse: integer(1, 1_000_000),
    default: 1000,
    doc: "events waiting in memory; more are picked up by reconciliation",
  },
  retryDelays: {
    env: "THUMBNAILER_RETRY_DELAYS",
    flag: { name: "retry-delays", arg: "MS,MS" },
    parse: list(integer(0, 600_000), "1000,2000"),
    default: [1000, 2000],
    doc: "waits before the retries of a failed invocation",
  },
  prune: {
    env: "THUMBNAILER_PRUNE",
    flag: { name: "prune", arg: "BOOL" },
    parse: boolean,
    default: false,
    doc:
      "at each reconciliation, delete the destination objects made by us for renditions no " +
      "longer configured; otherwise they are left and a log line counts them",
  },
} as const satisfies Record<string, Setting<unknown>>;

/** The handler's settings `serve` takes; not the endpoint: the service is the endpoint. */
const { endpoint: _endpoint, ...handlerServeSettings } = SERVICE_SETTINGS;
export const HANDLER_SERVE_SETTINGS = handlerServeSettings;
