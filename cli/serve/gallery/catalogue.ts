import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { S3Event } from "aws-lambda";
import type { HandlerConfig } from "../../../handler/config";
import { renditionSpec } from "../../../handler/engine";
import { describeError } from "../../../handler/errors";
import { failureStatus, readFailureRecord } from "../../../handler/failure-record";
import { decodeEventKey, destinationKey } from "../../../handler/keys";
import type { Logger } from "../../../handler/log";
import { isNotFound } from "../../../handler/s3-errors";
import { normalizeETag } from "../../../handler/s3-event";
import { METADATA } from "../../../handler/thumbnail-state";
import { THUMBNAIL_SETTINGS } from "../../settings";
import type { Activity } from "../activity";
import { FailureLog } from "../failure-log";
import type { Service } from "../service";

/** One output the handler makes for every source object. */
export interface Rendition {
  readonly name: string;
  /** The box it fits in, to tell which is the largest. */
  readonly width: number;
  readonly height: number;
  /** What the handler writes in the `thumbnail-spec` metadata of a current output. */
  readonly spec: string;
  readonly keyOf: (sourceKey: string) => string;
}

/** The handler's outputs per source object: its configured renditions. */
export function renditionsOf(config: HandlerConfig): Rendition[] {
  return config.renditions.map((rendition) => ({
    name: rendition.name,
    width: rendition.width,
    height: rendition.height,
    spec: renditionSpec(rendition),
    keyOf: (sourceKey) => destinationKey(sourceKey, config, rendition),
  }));
}

/** A source object in the listing. */
interface Entry {
  readonly key: string;
  readonly size: number;
  /** Last-Modified, ms since the epoch: the listing is newest first. */
  readonly time: number;
  /** Without quotes. */
  readonly eTag: string;
}

/** A current output of one rendition. */
export interface Thumbnail {
  readonly rendition: string;
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
  /** e.g. "jpeg", from its Content-Type. */
  readonly format: string;
}

/** What the page shows for one source object. */
export interface Card {
  readonly key: string;
  readonly bytes: number;
  readonly lastModified: string;
  readonly eTag: string;
  /** made: every rendition is current; failed: the handler refused it; pending: waiting or running. */
  readonly state: "made" | "failed" | "pending";
  readonly failure?: {
    readonly code: string;
    readonly reason: string;
    /** How to retry it: retryHint(). */
    readonly retry: string;
  };
  /** The current outputs, largest rendition first. */
  readonly thumbnails: readonly Thumbnail[];
}

export type State = Card["state"];

export const STATES: readonly State[] = ["made", "failed", "pending"];

/** Objects of the whole bucket per state; unchecked: not described yet since start-up. */
export type Counts = Record<State | "unchecked", number>;

export type Change =
  | { readonly kind: "object"; readonly card: Card }
  | { readonly kind: "removed"; readonly key: string }
  /** Every object listed at start-up has been checked: the counts are complete. */
  | { readonly kind: "counted" };

/** A position in the listing: the last object of the previous page. */
export interface Cursor {
  readonly time: number;
  readonly key: string;
}

const newestFirst = (a: Cursor, b: Cursor): number =>
  b.time - a.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The source bucket's objects, newest first, kept up to date from the service's activity: one
 * listing at start-up, then each event changes one entry, so a page or an update never lists
 * the bucket. Each object's state comes from where the pipeline keeps it: the destination's
 * metadata (made), the failure record on the source object with the reason from failures.jsonl
 * (failed), and the service's work queue (pending).
 */
export class Catalogue {
  private readonly entries = new Map<string, Entry>();
  /** The entries, newest first. */
  private order: Entry[] = [];
  /** Events queued or running, per key. */
  private readonly pending = new Map<string, number>();
  /** The latest failure per key from failures.jsonl and the service's results. */
  private readonly failures = new Map<string, { code: string; reason: string }>();
  /** Updates of one key run one after another, so the last one sent is the latest state. */
  private readonly updates = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(change: Change) => void>();
  /** Each object's state when it was last described. */
  private readonly states = new Map<string, State>();
  private closed = false;
  private readonly renditions: readonly Rendition[];
  private readonly sourceBucket: string;
  private readonly unwatch: () => void;

  private constructor(
    private readonly service: Service,
    private readonly s3: S3Client,
    private readonly log: Logger,
  ) {
    this.renditions = [...renditionsOf(service.config)].sort(
      (a, b) => b.width * b.height - a.width * a.height,
    );
    // The local service always names its source bucket (the Lambda may accept any).
    this.sourceBucket = service.config.sourceBucket ?? "";
    this.unwatch = service.watch((activity) => this.apply(activity));
  }

  static async open(service: Service, s3: S3Client, log: Logger): Promise<Catalogue> {
    const catalogue = new Catalogue(service, s3, log);
    await catalogue.load();
    void catalogue.checkAll();
    return catalogue;
  }

  get size(): number {
    return this.order.length;
  }

  /** The whole bucket's objects per state, as last described. */
  counts(): Counts {
    const counts: Counts = { made: 0, failed: 0, pending: 0, unchecked: 0 };
    for (const entry of this.order) counts[this.states.get(entry.key) ?? "unchecked"] += 1;
    return counts;
  }

  /**
   * Up to `limit` objects after `cursor` (from the newest when undefined), only those last seen
   * in `state` when given, and the next cursor.
   */
  async page(
    cursor: Cursor | undefined,
    limit: number,
    state?: State,
  ): Promise<{ cards: Card[]; next: Cursor | undefined }> {
    const start = cursor === undefined ? 0 : this.indexAfter(cursor);
    const wanted = (entry: Entry): boolean =>
      state === undefined || this.states.get(entry.key) === state;
    const entries: Entry[] = [];
    let index = start;
    for (; index < this.order.length && entries.length < limit; index += 1) {
      const entry = this.order[index] as Entry;
      if (wanted(entry)) entries.push(entry);
    }
    const last = entries.at(-1);
    const more = this.order.slice(index).some(wanted);
    return {
      cards: await Promise.all(entries.map((entry) => this.cardOf(entry))),
      next: more && last !== undefined ? { time: last.time, key: last.key } : undefined,
    };
  }

  /** The object's card, or undefined when it is not in the source bucket. */
  async card(key: string): Promise<Card | undefined> {
    const entry = this.entries.get(key);
    return entry === undefined ? undefined : this.cardOf(entry);
  }

  /** Calls `listener` with every change from now on; returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.unwatch();
    this.listeners.clear();
  }

  private async load(): Promise<void> {
    const { sourceBucket } = this;
    const { sourcePrefix } = this.service.config;
    for (const entry of await new FailureLog(this.service.failureRecord).entries()) {
      if (entry.kind === "bad-input" && entry.bucket === sourceBucket) {
        this.failures.set(entry.key, { code: entry.code, reason: entry.reason });
      }
    }
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: sourceBucket,
          Prefix: sourcePrefix,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        // An event during the listing is newer than what the listing says.
        if (object.Key === undefined || this.entries.has(object.Key)) continue;
        this.entries.set(object.Key, {
          key: object.Key,
          size: object.Size ?? 0,
          time: object.LastModified?.getTime() ?? 0,
          eTag: normalizeETag(object.ETag ?? ""),
        });
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
    this.order = [...this.entries.values()].sort(newestFirst);
  }

  private apply(activity: Activity): void {
    const key = keyOf(activity.event);
    if (key === undefined) return;
    switch (activity.kind) {
      case "notified":
        this.update(key, () =>
          activity.event.Records[0]?.eventName.startsWith("ObjectRemoved")
            ? this.remove(key)
            : this.reread(key),
        );
        return;
      case "queued":
        this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
        break;
      case "finished": {
        const count = (this.pending.get(key) ?? 1) - 1;
        if (count > 0) this.pending.set(key, count);
        else this.pending.delete(key);
        for (const result of activity.results) {
          if (result.outcome === "failed") {
            this.failures.set(result.key, {
              code: result.code ?? "UNKNOWN",
              reason: result.reason ?? "",
            });
          }
        }
        if (activity.outcome === "failed") {
          this.failures.set(key, {
            code: "INVOCATION_FAILED",
            reason: `the event failed on every retry; see ${this.service.failureRecord}`,
          });
        }
        break;
      }
    }
    this.update(key, async () => {
      const entry = this.entries.get(key);
      if (entry !== undefined) this.emit({ kind: "object", card: await this.describe(entry) });
    });
  }

  /**
   * Runs `work` after the key's earlier updates (so the state remembered for a key is the latest
   * described); its errors are logged, never thrown.
   */
  private update(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.updates.get(key) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) =>
        this.log.log("warn", { msg: "gallery: cannot update", key, ...describeError(error) }),
      )
      .finally(() => {
        if (this.updates.get(key) === next) this.updates.delete(key);
      });
    this.updates.set(key, next);
    return next;
  }

  /** Reads the object's size, ETag and date again (created or overwritten). */
  private async reread(key: string): Promise<void> {
    let head: { ContentLength?: number; LastModified?: Date; ETag?: string };
    try {
      head = await this.s3.send(new HeadObjectCommand({ Bucket: this.sourceBucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return this.remove(key);
      throw error;
    }
    this.removeFromOrder(key);
    const entry: Entry = {
      key,
      size: head.ContentLength ?? 0,
      time: head.LastModified?.getTime() ?? Date.now(),
      eTag: normalizeETag(head.ETag ?? ""),
    };
    this.entries.set(key, entry);
    this.order.splice(this.indexAfter(entry), 0, entry);
    this.emit({ kind: "object", card: await this.describe(entry) });
  }

  private async remove(key: string): Promise<void> {
    if (!this.removeFromOrder(key)) return;
    this.entries.delete(key);
    this.states.delete(key);
    this.emit({ kind: "removed", key });
  }

  private removeFromOrder(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    const index = this.indexAfter(entry) - 1;
    if (this.order[index] === entry) this.order.splice(index, 1);
    return true;
  }

  /** The index of the first entry after `cursor` in the listing (binary search). */
  private indexAfter(cursor: Cursor): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (newestFirst(this.order[middle] as Entry, cursor) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Describes every object listed at start-up that no page or event has described yet, a few at a
   * time, so that the counts cover the whole bucket; then tells the watchers.
   */
  private async checkAll(): Promise<void> {
    const unchecked = [...this.order];
    const worker = async (): Promise<void> => {
      for (let entry = unchecked.shift(); entry !== undefined; entry = unchecked.shift()) {
        if (this.closed) return;
        const { key } = entry;
        await this.update(key, async () => {
          const current = this.entries.get(key);
          if (current !== undefined && !this.states.has(key)) await this.describe(current);
        });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    if (!this.closed) this.emit({ kind: "counted" });
  }

  /** The object's card, its state remembered for the counts (called in the key's updates only). */
  private async describe(entry: Entry): Promise<Card> {
    const card = await this.cardOf(entry);
    if (this.entries.get(entry.key) === entry) this.states.set(entry.key, card.state);
    return card;
  }

  private async cardOf(entry: Entry): Promise<Card> {
    const outputs = await Promise.all(this.renditions.map((r) => this.currentOutput(r, entry)));
    const thumbnails = outputs.filter((output) => output !== undefined);
    const base = {
      key: entry.key,
      bytes: entry.size,
      lastModified: new Date(entry.time).toISOString(),
      eTag: entry.eTag,
      thumbnails,
    };
    if ((this.pending.get(entry.key) ?? 0) > 0) return { ...base, state: "pending" };
    if (thumbnails.length === this.renditions.length) return { ...base, state: "made" };
    const record = await readFailureRecord(this.s3, { bucket: this.sourceBucket, key: entry.key });
    const known = this.failures.get(entry.key);
    // A failure under other settings is not one: reconciliation retries it.
    if (
      record !== undefined &&
      failureStatus(record, entry.eTag, this.service.config) === "stands"
    ) {
      const reason =
        known?.code === record.code ? known.reason : `see ${this.service.failureRecord}`;
      const retry = retryHint(record.code, record.settings !== undefined);
      return { ...base, state: "failed", failure: { code: record.code, reason, retry } };
    }
    if (known?.code === "INVOCATION_FAILED") {
      const retry = "Restart serve: reconciliation at start-up tries it again.";
      return { ...base, state: "failed", failure: { ...known, retry } };
    }
    // Not made and not refused: the queue or reconciliation has it.
    return { ...base, state: "pending" };
  }

  /** The rendition's output when it was made from this very version with the configured spec. */
  private async currentOutput(rendition: Rendition, entry: Entry): Promise<Thumbnail | undefined> {
    const bucket = this.service.config.destBucket;
    const key = rendition.keyOf(entry.key);
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const metadata = head.Metadata ?? {};
      if (
        metadata[METADATA.sourceETag] !== entry.eTag ||
        metadata[METADATA.spec] !== rendition.spec
      )
        return undefined;
      return {
        rendition: rendition.name,
        bucket,
        key,
        bytes: head.ContentLength ?? 0,
        format: (head.ContentType ?? "").replace(/^image\//, ""),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** The setting whose limit an input failed on, as a flag of `thumbnailer serve`. */
const LIMIT_FLAGS: Partial<Record<string, string>> = {
  INPUT_TOO_LARGE: `--${THUMBNAIL_SETTINGS.maxInputBytes.flag.name}`,
  TOO_MANY_PIXELS: `--${THUMBNAIL_SETTINGS.maxInputPixels.flag.name}`,
};

/**
 * What a failed card says to do. The record stands while the object and the settings are those
 * it failed under, so: another file, other settings (a restart of serve reconciles: it retries
 * the failures recorded under other settings), or, for a record without its settings (an older
 * version's), a forced backfill.
 */
export function retryHint(code: string, settingsRecorded: boolean): string {
  if (!settingsRecorded) {
    return (
      "This record names no settings (an older thumbnailer wrote it), so a settings change does " +
      "not retry it: upload the file again, or run thumbnailer backfill --direct --force " +
      "against this service (docs/local.md)."
    );
  }
  const flag = LIMIT_FLAGS[code];
  if (flag !== undefined) {
    return (
      `To retry: restart serve with a higher ${flag} (any change of the settings it failed ` +
      "under retries it), or upload a smaller file under this key."
    );
  }
  return (
    "Upload a fixed file under this key to retry. (Restarting serve with other settings, e.g. " +
    "other renditions, retries it too.)"
  );
}

/** The decoded key of the event's object. */
function keyOf(event: S3Event): string | undefined {
  const encoded = event.Records[0]?.s3.object.key;
  if (encoded === undefined) return undefined;
  try {
    return decodeEventKey(encoded);
  } catch {
    return undefined;
  }
}
