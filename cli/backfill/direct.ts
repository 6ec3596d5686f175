/**
 * `thumbnailer backfill --direct`: lists the source bucket page by page (ListObjectsV2, never
 * the whole listing first) and hands each object to the handler's own backfill step
 * (handler/backfill-object.ts), at most `concurrency` at a time. Memory is bounded by one page
 * plus the objects in flight, whatever the bucket's size. Only keys the deployment's filter
 * matches (the source prefix and suffix, as the bucket's notification has them) are processed:
 * the others are counted as not matched, never read, written or tagged.
 *
 * Ctrl+C stops listing, lets the objects in flight finish, and writes the checkpoint (the last
 * key up to which everything is done); `--resume` lists from after it, so nothing is made twice.
 */

import { isDeepStrictEqual } from "node:util";
import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import {
  BACKFILL_EVENT,
  type BackfillMode,
  backfillObject,
  planBackfill,
} from "../../handler/backfill-object";
import { forEachLimited } from "../../handler/bounded";
import { type HandlerConfig, readConfig, readRenditions, THUMB_ROWS } from "../../handler/config";
import { renditionSpec } from "../../handler/engine";
import { DEFAULT_OPTIONS } from "../../handler/engine/options";
import type { Logger } from "../../handler/log";
import type { Outcome, RecordResult } from "../../handler/process-record";
import { s3Failure } from "../../handler/s3-errors";
import { readSetting, type Setting, THUMBNAIL_SETTINGS } from "../../handler/settings";
import { SYNTH_DIR } from "../../ops/deployment";
import { UsageError } from "../setting-flags";
import { type BackfillScope, CheckpointFile, readCheckpoint, Watermark } from "./checkpoint";
import { createProgress } from "./progress";

export interface DirectOptions {
  readonly s3: S3Client;
  readonly config: HandlerConfig;
  /** Only keys ending with this are processed ("" = any): the notification's suffix. */
  readonly sourceSuffix: string;
  readonly mode: BackfillMode;
  readonly concurrency: number;
  /** Decide only: print what would be made, write nothing. */
  readonly dryRun: boolean;
  /** One JSON line per object acted on, on stdout. */
  readonly json: boolean;
  readonly checkpointFile: string;
  readonly resume: boolean;
  /** Resolves when the user asks to stop (Ctrl+C). */
  readonly stopRequested: Promise<void>;
}

export interface DirectSummary {
  readonly seen: number;
  readonly made: number;
  readonly skipped: number;
  readonly failed: number;
  readonly interrupted: boolean;
}

/** The deployment whose own source bucket a run backfills: its name, its function's environment. */
export interface DeployedFunction {
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
}

/** What a direct run is given, each part as the handler's environment (its own names). */
export interface DirectSettings {
  /** Where it reads and writes (the rows of `whereRows`): flags, variables, the deployment's filter. */
  readonly where: Readonly<Record<string, string>>;
  readonly whereRows: readonly Setting<unknown>[];
  /** What it makes (THUMBNAIL_SETTINGS rows): from flags and variables. */
  readonly thumbnails: Readonly<Record<string, string>>;
  /** How the user gave a row, for errors: "--width 300", "THUMBNAILER_THUMB_QUALITY=50". */
  readonly given: (env: string) => string;
  /** Set when the source bucket is the deployment's own. */
  readonly deployed?: DeployedFunction;
}

/**
 * The handler's configuration for a direct run, read by the handler's own readConfig. For the
 * deployment's own source bucket, what is made (renditions, limits, Cache-Control: everything
 * but where to read and write) is the deployed function's environment, so a backfilled thumbnail
 * is the one an upload would have made; a thumbnail flag or variable that says otherwise is a
 * UsageError naming both. Elsewhere, the flags and variables.
 */
export function directConfig(settings: DirectSettings): HandlerConfig {
  const { where, thumbnails, deployed } = settings;
  if (deployed === undefined) return readConfig({ ...where, ...thumbnails });
  const whereEnv = settings.whereRows.map((row) => row.env);
  const made = Object.fromEntries(
    Object.entries(deployed.environment).filter(([env]) => !whereEnv.includes(env)),
  );
  const config = readConfig({ ...made, ...where });
  for (const [env, text] of Object.entries(thumbnails)) {
    if (agrees(env, text, made, config)) continue;
    const row = thumbnailRow(env);
    const theirs =
      row === undefined || row.env === THUMBNAIL_SETTINGS.renditions.env || isThumbRow(env)
        ? `makes ${renditionsText(config)}`
        : `has ${env} ${JSON.stringify(readSetting(row, made[env]))}`;
    throw new UsageError(
      `${settings.given(env)} is not deployment "${deployed.name}"'s configuration: its function ` +
        `${theirs} (${SYNTH_DIR}). A backfill of its source bucket makes what an upload makes: ` +
        "leave the thumbnail options out (to change them, change cdktf.json, npm run synth and deploy)",
    );
  }
  return config;
}

const isThumbRow = (env: string) => THUMB_ROWS.some((row) => row.env === env);
const thumbnailRow = (env: string): Setting<unknown> | undefined =>
  Object.values<Setting<unknown>>(THUMBNAIL_SETTINGS).find((row) => row.env === env);

/** Whether the row `env`, given as `text`, is what the deployed function (`made`, `config`) has. */
function agrees(
  env: string,
  text: string,
  made: Readonly<Record<string, string>>,
  config: HandlerConfig,
): boolean {
  if (env === THUMBNAIL_SETTINGS.renditions.env) {
    return isDeepStrictEqual(readRenditions(text, env, DEFAULT_OPTIONS, []), config.renditions);
  }
  // With a renditions list deployed, the THUMB_* rows describe nothing it makes.
  if (isThumbRow(env) && made[THUMBNAIL_SETTINGS.renditions.env] !== undefined) return false;
  const row = thumbnailRow(env);
  return (
    row !== undefined && isDeepStrictEqual(readSetting(row, text), readSetting(row, made[env]))
  );
}

/** "the renditions small (64x64-inside-q80.webp), card (200x100-cover-q80.png)". */
export function renditionsText(config: HandlerConfig): string {
  const list = config.renditions.map((r) => `${r.name} (${renditionSpec(r)})`).join(", ");
  return `the rendition${config.renditions.length === 1 ? "" : "s"} ${list}`;
}

/** Seconds between checkpoint writes while running (it is always written on Ctrl+C). */
const CHECKPOINT_EVERY_MS = 10_000;

/** The exit code: 0 all done, 1 any object failed, 130 interrupted (checkpoint written). */
/** What this run covers, and what a checkpoint must match to resume it. */
function scopeOf({ config, sourceSuffix }: DirectOptions): BackfillScope {
  return {
    sourceBucket: config.sourceBucket ?? "",
    sourcePrefix: config.sourcePrefix,
    sourceSuffix,
    destBucket: config.destBucket,
    destPrefix: config.destPrefix,
  };
}

export async function runDirect(options: DirectOptions): Promise<number> {
  const { s3, config, mode, dryRun, json } = options;
  const scope = scopeOf(options);
  const { sourceBucket } = scope;
  const startAfter = options.resume
    ? (await readCheckpoint(options.checkpointFile, scope)).after
    : undefined;

  const deps = { s3, config, log: SILENT };
  const counts = { listed: 0, unmatched: 0, seen: 0, made: 0, skipped: 0, failed: 0 };
  const watermark = new Watermark();
  const progress = createProgress(dryRun ? "backfill (dry run)" : "backfill");
  const show = () =>
    progress.update({
      done: counts.seen,
      total: counts.listed,
      counters: {
        [dryRun ? "to make" : "made"]: counts.made,
        skipped: counts.skipped,
        failed: counts.failed,
      },
    });
  let stopping = false;
  void options.stopRequested.then(() => {
    stopping = true;
    progress.log("backfill: stopping after the objects in flight (Ctrl+C again to quit at once)");
  });
  const checkpoints = new CheckpointFile(options.checkpointFile);
  const saveCheckpoint = async () => {
    if (watermark.last !== undefined && !dryRun) {
      await checkpoints.save({ scope, after: watermark.last });
    }
  };
  const timer = setInterval(() => void saveCheckpoint(), CHECKPOINT_EVERY_MS);
  const started = performance.now();

  let listingError: string | undefined;
  let fatal: RecordResult | undefined;
  try {
    const listing = listSource(s3, scope, startAfter, (matched, unmatched) => {
      counts.listed += matched;
      counts.unmatched += unmatched;
    });
    const items = numbered(listing);
    await forEachLimited(
      stoppable(items, () => stopping),
      options.concurrency,
      async (item) => {
        const object = { bucket: sourceBucket, key: item.key, eTag: item.eTag, size: item.size };
        const result = dryRun
          ? await planOnly(object, mode, deps)
          : await backfillObject(object, mode, deps);
        counts.seen += 1;
        tally(result, counts);
        if (result.outcome === "fatal") {
          // The configuration cannot work for any object: stop, as the handler does.
          fatal ??= result;
          stopping = true;
        } else {
          watermark.complete(item.index, item.key);
        }
        if (result.outcome !== "skipped") report(result, json, progress);
        show();
      },
    );
  } catch (error) {
    listingError = error instanceof Error ? error.message : String(error);
  } finally {
    clearInterval(timer);
    show();
    progress.stop();
  }

  const interrupted = stopping || listingError !== undefined;
  process.stderr.write(summary(counts, dryRun, started, options.sourceSuffix));
  if (fatal !== undefined) {
    process.stderr.write(
      `backfill: stopped: the configuration cannot work (${fatal.code ?? "INVALID_CONFIG"} ${fatal.reason ?? ""}); ` +
        "nothing was recorded on the object. Fix the setting and run the same command again\n",
    );
    return 1;
  }
  if (interrupted) {
    await saveCheckpoint();
    if (listingError !== undefined) process.stderr.write(`backfill: ${listingError}\n`);
    process.stderr.write(
      watermark.last === undefined || dryRun
        ? "backfill: stopped before any object was done; nothing to resume\n"
        : `backfill: stopped; done up to ${JSON.stringify(watermark.last)}, checkpoint ${options.checkpointFile}; ` +
            "run the same command with --resume to continue\n",
    );
    return listingError !== undefined ? 1 : 130;
  }
  if (!dryRun) await checkpoints.remove();
  return counts.failed > 0 ? 1 : 0;
}

/**
 * "backfill: 1000 seen, 940 made, 30 skipped (up to date), 30 failed in 89.6s (11.2/s)", and
 * with a suffix ', 12 not matched by the deployment's filter (keys ending ".jpg")'.
 */
function summary(
  counts: { unmatched: number; seen: number; made: number; skipped: number; failed: number },
  dryRun: boolean,
  started: number,
  suffix: string,
): string {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? (counts.seen / seconds).toFixed(1) : "0.0";
  const unmatched =
    suffix === ""
      ? ""
      : `, ${counts.unmatched} not matched by the deployment's filter (keys ending ${JSON.stringify(suffix)})`;
  return (
    `backfill${dryRun ? " (dry run)" : ""}: ${counts.seen} seen, ${counts.made} ${dryRun ? "to make" : "made"}, ` +
    `${counts.skipped} skipped (up to date), ${counts.failed} failed in ${seconds.toFixed(1)}s (${rate}/s)${unmatched}\n`
  );
}

/** The handler logs through deps.log; the CLI reports results itself. */
const SILENT: Logger = { log: () => undefined };

/** A dry run's result: "created" stands for "would be made" (nothing is written). */
async function planOnly(
  object: Parameters<typeof planBackfill>[0],
  mode: BackfillMode,
  deps: Parameters<typeof planBackfill>[2],
): Promise<RecordResult> {
  const plan = await planBackfill(object, mode, deps);
  if (!plan.make) return plan.result;
  const { bucket, key } = object;
  return {
    bucket,
    key,
    event: BACKFILL_EVENT,
    outcome: "created",
    reason: "dry run: would be made",
    ms: 0,
  };
}

/** Outcomes counted (and reported) as failed: the object has no up-to-date thumbnail. */
const FAILED: readonly Outcome[] = ["failed", "retry", "fatal"];

function tally(result: RecordResult, counts: { made: number; skipped: number; failed: number }) {
  if (result.outcome === "created") counts.made += 1;
  else if (FAILED.includes(result.outcome)) counts.failed += 1;
  else counts.skipped += 1;
}

/** Failures are always reported with their reason; made objects only as --json lines. */
function report(result: RecordResult, json: boolean, progress: ReturnType<typeof createProgress>) {
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (FAILED.includes(result.outcome)) {
    progress.log(
      `failed s3://${result.bucket}/${result.key}: ${result.code ?? "ERROR"} ${result.reason ?? ""}`,
    );
  }
}

interface ListedObject {
  readonly key: string;
  readonly eTag: string | undefined;
  readonly size: number | undefined;
}

/**
 * The source's objects the filter matches (under the prefix, ending with the suffix), in listing
 * order, one page in memory at a time; `onPage` is told how many of each page match and not.
 */
async function* listSource(
  s3: S3Client,
  { sourceBucket: bucket, sourcePrefix: prefix, sourceSuffix: suffix }: BackfillScope,
  startAfter: string | undefined,
  onPage: (matched: number, unmatched: number) => void,
): AsyncGenerator<ListedObject> {
  const pages = paginateListObjectsV2(
    { client: s3 },
    {
      Bucket: bucket,
      Prefix: prefix,
      ...(startAfter === undefined ? {} : { StartAfter: startAfter }),
    },
  );
  try {
    for await (const page of pages) {
      const objects = (page.Contents ?? []).filter((o) => o.Key !== undefined);
      const matched = objects.filter((o) => o.Key?.endsWith(suffix));
      onPage(matched.length, objects.length - matched.length);
      for (const object of matched) {
        yield { key: object.Key ?? "", eTag: object.ETag, size: object.Size };
      }
    }
  } catch (error) {
    throw s3Failure("ListObjectsV2", bucket, prefix, error);
  }
}

/** Numbers the objects in listing order, for the watermark. */
async function* numbered(
  objects: AsyncIterable<ListedObject>,
): AsyncGenerator<ListedObject & { readonly index: number }> {
  let index = 0;
  for await (const object of objects) {
    yield { ...object, index };
    index += 1;
  }
}

/** Ends the iteration (without reading further) once `stop()` says so. */
async function* stoppable<T>(items: AsyncIterable<T>, stop: () => boolean): AsyncGenerator<T> {
  if (stop()) return;
  for await (const item of items) {
    yield item;
    if (stop()) return;
  }
}
