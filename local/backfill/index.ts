/**
 * `thumbnailer backfill`: thumbnails for objects already in the source bucket, which S3 events
 * never announced. `--direct` lists and processes from this machine (any S3-compatible endpoint);
 * `--batch` creates an S3 Batch Operations job for the deployed function. Both use the handler's
 * own per-object step (handler/backfill-object.ts). Exit codes: 0 all done, 1 any object failed,
 * 2 usage error, 130 interrupted (direct mode: checkpoint written).
 */

import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import type { BackfillMode } from "../../handler/backfill-object";
import { type HandlerConfig, MAX_CONCURRENCY, readConfig } from "../../handler/config";
import { configureSharp } from "../../handler/engine";
import { ThumbnailError } from "../../handler/errors";
import { createS3Client } from "../../handler/s3-client";
import { ENGINE_FLAG_OPTIONS, ENGINE_FLAGS_HELP, engineEnv } from "../engine-flags";
import { DEFAULT_CHECKPOINT_FILE } from "./checkpoint";
import { runDirect } from "./direct";

const DEFAULT_CONCURRENCY = Math.min(4, availableParallelism());

const HELP = `Usage:
  thumbnailer backfill --direct --source-bucket B --dest-bucket B [options]
  thumbnailer backfill --batch [--force] [--yes] [--wait] [--dry-run]

Makes the thumbnail of every object in the source bucket whose thumbnail is missing or outdated
(made from another version of the object, or with other settings); --force remakes all.

--direct lists the source bucket from this machine and processes each object here, with the
handler's own code: any S3-compatible endpoint, the standard AWS credential chain (for the
local service \`npm start\`: AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER and
--endpoint http://localhost:4568). Progress on stderr; one JSON line per object made or failed
on stdout with --json; a summary at the end. Ctrl+C stops after the objects in flight and writes
a checkpoint; the same command with --resume continues after it.

Exit status: 0 all done, 1 any object failed (each is reported with its reason), 2 usage error,
130 interrupted.

Options (--direct):
  --endpoint URL          an S3-compatible endpoint (default: AWS)
  --source-bucket B       the bucket to backfill (required)
  --dest-bucket B         where thumbnails are written (required)
  --source-prefix P       only keys under this prefix [""]
  --dest-prefix P         prepended to the source key to make the thumbnail key [""]
  --concurrency N         objects processed at once, 1..${MAX_CONCURRENCY} [${DEFAULT_CONCURRENCY}]
  --force                 remake every thumbnail, even up-to-date ones
  --dry-run               list and check only: say what would be made, write nothing
  --json                  one JSON line per object made or failed, on stdout
  --checkpoint FILE       the checkpoint file [${DEFAULT_CHECKPOINT_FILE}]
  --resume                continue after the checkpoint of an interrupted run
  -h, --help              show this help

${ENGINE_FLAGS_HELP}
`;

const OPTIONS = {
  direct: { type: "boolean" },
  endpoint: { type: "string" },
  "source-bucket": { type: "string" },
  "dest-bucket": { type: "string" },
  "source-prefix": { type: "string" },
  "dest-prefix": { type: "string" },
  concurrency: { type: "string" },
  force: { type: "boolean" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  checkpoint: { type: "string" },
  resume: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  ...ENGINE_FLAG_OPTIONS,
} as const;

type Values = Record<string, string | boolean | undefined>;

export async function run(args: string[]): Promise<number> {
  let values: Values;
  try {
    values = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false })
      .values as Values;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.direct) return usageError("choose a mode: --direct");
  const mode: BackfillMode = values.force ? "force" : "missing";
  return direct(values, mode);
}

async function direct(values: Values, mode: BackfillMode): Promise<number> {
  for (const flag of ["source-bucket", "dest-bucket"]) {
    if (typeof values[flag] !== "string") return usageError(`--direct needs --${flag}`);
  }
  const concurrency =
    values.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    return usageError(
      `--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${String(values.concurrency)}`,
    );
  }
  let config: HandlerConfig;
  try {
    config = readConfig({
      ...engineEnv(values),
      SOURCE_BUCKET: String(values["source-bucket"]),
      DEST_BUCKET: String(values["dest-bucket"]),
      SOURCE_PREFIX: typeof values["source-prefix"] === "string" ? values["source-prefix"] : "",
      DEST_PREFIX: typeof values["dest-prefix"] === "string" ? values["dest-prefix"] : "",
      ...(typeof values.endpoint === "string" ? { AWS_ENDPOINT_URL_S3: values.endpoint } : {}),
      ...(process.env.AWS_REGION === undefined ? {} : { AWS_REGION: process.env.AWS_REGION }),
    });
  } catch (error) {
    if (error instanceof ThumbnailError) return usageError(error.message);
    throw error;
  }

  configureSharp();
  const s3 = createS3Client(config);
  // The first Ctrl+C stops cleanly (checkpoint written); a second one quits at once.
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGINT", () => {
      process.once("SIGINT", () => process.exit(130));
      resolve();
    });
  });
  try {
    return await runDirect({
      s3,
      config,
      mode,
      concurrency,
      dryRun: values["dry-run"] === true,
      json: values.json === true,
      checkpointFile:
        typeof values.checkpoint === "string" ? values.checkpoint : DEFAULT_CHECKPOINT_FILE,
      resume: values.resume === true,
      stopRequested,
    });
  } catch (error) {
    // A checkpoint that cannot be resumed is a usage error; anything else is a bug.
    if (values.resume && error instanceof Error && error.message.startsWith("--resume")) {
      return usageError(error.message);
    }
    throw error;
  } finally {
    s3.destroy();
  }
}

function usageError(message: string): number {
  process.stderr.write(
    `thumbnailer backfill: ${message}\nRun \`thumbnailer backfill --help\` for usage.\n`,
  );
  return 2;
}
