import path from "node:path";
import { parseArgs } from "node:util";
import { readConfig } from "../../handler/config";
import { configureSharp } from "../../handler/engine";
import { describeError, ThumbnailError } from "../../handler/errors";
import { createLogger, LOG_LEVELS, type LogLevel } from "../../handler/log";
import { ENGINE_FLAG_OPTIONS, ENGINE_FLAGS_HELP, engineEnv } from "../engine-flags";
import { banner } from "./banner";
import { type Gallery, startGallery } from "./gallery/server";
import { type Service, startService } from "./service";

/** The project folder (dist/local/serve/ -> project): the default data folder lives there. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** Each flag, its environment variable and default. */
const SETTINGS = {
  port: { env: "THUMBNAILER_PORT", fallback: "4568" },
  "ui-port": { env: "THUMBNAILER_UI_PORT", fallback: "4569" },
  data: { env: "THUMBNAILER_DATA", fallback: path.join(PROJECT_DIR, ".data") },
  "source-bucket": { env: "SOURCE_BUCKET", fallback: "source" },
  "dest-bucket": { env: "DEST_BUCKET", fallback: "thumbnails" },
  "source-prefix": { env: "SOURCE_PREFIX", fallback: "" },
  "dest-prefix": { env: "DEST_PREFIX", fallback: "" },
  region: { env: "AWS_REGION", fallback: "us-east-1" },
  concurrency: { env: "CONCURRENCY", fallback: "4" },
  "queue-capacity": { env: "THUMBNAILER_QUEUE_CAPACITY", fallback: "1000" },
  "retry-delays": { env: "THUMBNAILER_RETRY_DELAYS", fallback: "1000,2000" },
  "log-level": { env: "LOG_LEVEL", fallback: "info" },
} as const;

type Setting = keyof typeof SETTINGS;

const HELP = `Usage: thumbnailer serve [options]        (npm start)

Runs the thumbnail pipeline on this machine: an S3-protocol server (s3rver) on 127.0.0.1 with a
source and a destination bucket, whose upload and delete events are delivered, as genuine S3
notification events, to the same handler code the Lambda container runs. Upload to the source
bucket with any S3 client (credentials S3RVER / S3RVER); thumbnails appear in the destination
bucket under the same key. At start-up every upload without an up-to-date thumbnail is processed.
A gallery page (http://127.0.0.1:4569/) shows the uploads with their thumbnails and state, live,
and takes uploads by drag-and-drop.

Options (environment variable in brackets; a flag wins over its variable):
  --port N                 port to listen on; 0 picks a free one [THUMBNAILER_PORT, 4568]
  --ui-port N              port of the gallery page (on 127.0.0.1); 0 picks a free one
                           [THUMBNAILER_UI_PORT, 4569]
  --no-ui                  do not serve the gallery page
  --data DIR               data folder, kept across restarts [THUMBNAILER_DATA, ./.data]
                             s3/              the buckets (s3rver's files)
                             failures.jsonl   the on-failure record, one JSON object per line
  --source-bucket NAME     bucket uploads go to [SOURCE_BUCKET, source]
  --dest-bucket NAME       bucket thumbnails go to [DEST_BUCKET, thumbnails]
  --source-prefix P        only keys under P are thumbnailed [SOURCE_PREFIX, ""]
  --dest-prefix P          prepended to each thumbnail key [DEST_PREFIX, ""]
  --region R               region in events and signatures [AWS_REGION, us-east-1]
  --concurrency N          uploads processed at once, 1..64 [CONCURRENCY, 4]
  --queue-capacity N       events waiting in memory; more are picked up by reconciliation
                           [THUMBNAILER_QUEUE_CAPACITY, 1000]
  --retry-delays MS,MS     waits before the retries of a failed invocation
                           [THUMBNAILER_RETRY_DELAYS, 1000,2000]
  --log-level L            ${LOG_LEVELS.join(" | ")} [LOG_LEVEL, info]
  -h, --help               show this help

${ENGINE_FLAGS_HELP}
  (also THUMB_WIDTH, THUMB_HEIGHT, THUMB_FIT, THUMB_FORMAT, THUMB_QUALITY, THUMB_BACKGROUND,
   MAX_INPUT_PIXELS, MAX_INPUT_BYTES; CACHE_CONTROL sets the thumbnails' Cache-Control)

A bad upload (corrupt, empty, SVG, too many pixels...) is tagged thumbnailer-error on the source
object and written to failures.jsonl; an invocation that fails 3 times (S3 unreachable...) is
written there too and retried once by reconciliation. SIGINT/SIGTERM stop cleanly; after a
crash, the next start repairs the store and reconciles. See docs/local.md.
`;

export async function run(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        "no-ui": { type: "boolean" },
        ...Object.fromEntries(Object.keys(SETTINGS).map((name) => [name, { type: "string" }])),
        ...ENGINE_FLAG_OPTIONS,
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const setting = (name: Setting): string => {
    const flag = values[name];
    return typeof flag === "string"
      ? flag
      : (process.env[SETTINGS[name].env] ?? SETTINGS[name].fallback);
  };

  const port = wholeNumber(setting("port"), 0, 65535);
  const uiPort = wholeNumber(setting("ui-port"), 0, 65535);
  const concurrency = wholeNumber(setting("concurrency"), 1, 64);
  const queueCapacity = wholeNumber(setting("queue-capacity"), 1, 1_000_000);
  const retryDelaysMs = setting("retry-delays")
    .split(",")
    .filter((part) => part.trim() !== "")
    .map((part) => wholeNumber(part.trim(), 0, 600_000));
  const logLevel = LOG_LEVELS.find((level) => level === setting("log-level").toLowerCase());
  if (port === undefined) return usageError(`--port must be 0..65535, got "${setting("port")}"`);
  if (uiPort === undefined)
    return usageError(`--ui-port must be 0..65535, got "${setting("ui-port")}"`);
  if (concurrency === undefined)
    return usageError(`--concurrency must be 1..64, got "${setting("concurrency")}"`);
  if (queueCapacity === undefined)
    return usageError(`--queue-capacity must be a positive whole number`);
  if (retryDelaysMs.includes(undefined))
    return usageError(`--retry-delays must be milliseconds, e.g. 1000,2000`);
  if (logLevel === undefined)
    return usageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);

  const handlerEnv = {
    ...pickEnv([
      "THUMB_WIDTH",
      "THUMB_HEIGHT",
      "THUMB_FIT",
      "THUMB_FORMAT",
      "THUMB_QUALITY",
      "THUMB_BACKGROUND",
      "MAX_INPUT_PIXELS",
      "MAX_INPUT_BYTES",
      "CACHE_CONTROL",
    ]),
    ...engineEnv(values),
    SOURCE_PREFIX: setting("source-prefix"),
    DEST_PREFIX: setting("dest-prefix"),
    CONCURRENCY: String(concurrency),
    LOG_LEVEL: logLevel,
  };
  const sourceBucket = setting("source-bucket");
  const destBucket = setting("dest-bucket");
  let spec: string;
  try {
    // Validate everything before binding a port: a bad flag is a usage error, not a crash.
    spec = readConfig({ ...handlerEnv, SOURCE_BUCKET: sourceBucket, DEST_BUCKET: destBucket }).spec;
  } catch (error) {
    if (error instanceof ThumbnailError) return usageError(error.message);
    throw error;
  }

  configureSharp();
  const log = createLogger(logLevel as LogLevel);
  const dataDir = path.resolve(setting("data"));
  let service: Service | undefined;
  let gallery: Gallery | undefined;
  try {
    service = await startService({
      host: "127.0.0.1",
      port,
      dataDir,
      sourceBucket,
      destBucket,
      region: setting("region"),
      handlerEnv,
      concurrency,
      queueCapacity,
      retryDelaysMs: retryDelaysMs as number[],
      reconcileRetryMs: 5000,
      log,
    });
    if (values["no-ui"] !== true) {
      gallery = await startGallery({ service, host: "127.0.0.1", port: uiPort, log });
    }
  } catch (error) {
    const { code, reason } = describeError(error);
    const inUse = (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
    const [busy, flag] = service === undefined ? [port, "--port"] : [uiPort, "--ui-port"];
    await service?.stop();
    process.stderr.write(
      `thumbnailer serve: cannot start: ${inUse ? `port ${busy} is in use (try ${flag} 0)` : `${code}: ${reason}`}\n`,
    );
    return 1;
  }
  const running = service;
  process.stdout.write(
    banner({
      endpoint: service.endpoint,
      sourceBucket,
      destBucket,
      destPrefix: handlerEnv.DEST_PREFIX,
      spec,
      dataDir,
      failureRecord: service.failureRecord,
      galleryUrl: gallery?.url,
    }),
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.log("warn", {
          msg: "second signal: exiting now; reconciliation redoes unfinished work",
          signal,
        });
        process.exit(130);
      }
      stopping = true;
      log.log("info", { msg: "stopping: finishing the uploads in progress", signal });
      Promise.resolve(gallery?.close())
        .then(() => running.stop())
        .then(
          () => resolve(0),
          (error: unknown) => {
            log.log("error", { msg: "unclean stop", ...describeError(error) });
            resolve(1);
          },
        );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function usageError(message: string): number {
  process.stderr.write(
    `thumbnailer serve: ${message}\nRun \`thumbnailer serve --help\` for usage.\n`,
  );
  return 2;
}

function wholeNumber(text: string, min: number, max: number): number | undefined {
  const value = Number(text);
  return /^\d+$/.test(text) && value >= min && value <= max ? value : undefined;
}

function pickEnv(names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
