/**
 * The direct backfill's checkpoint: the last key, in listing order, up to which every object has
 * been fully processed, with the run's scope so that `--resume` refuses a checkpoint of another
 * bucket or prefix. Written atomically (temporary file + rename): a crash leaves the old one.
 */

import { readFile, rm } from "node:fs/promises";
import { writeFileAtomic } from "../atomic-write";

/** What a checkpoint is valid for: resuming with another scope would skip the wrong keys. */
export interface BackfillScope {
  readonly sourceBucket: string;
  readonly sourcePrefix: string;
  /** Only keys ending with this ("" = any). */
  readonly sourceSuffix: string;
  readonly destBucket: string;
  readonly destPrefix: string;
}

export interface Checkpoint {
  readonly scope: BackfillScope;
  /** Every listed key up to and including this one is done. */
  readonly after: string;
}

export const DEFAULT_CHECKPOINT_FILE = "thumbnailer-backfill.checkpoint.json";

export async function writeCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(checkpoint, null, 2)}\n`));
}

async function removeCheckpoint(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * A run's checkpoint file: saves one at a time, and remove() waits for a save still in flight
 * (the periodic one), whose rename would otherwise put the file back after a finished run.
 */
export class CheckpointFile {
  private last: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly write: typeof writeCheckpoint = writeCheckpoint,
  ) {}

  save(checkpoint: Checkpoint): Promise<void> {
    const next = this.last.catch(() => undefined).then(() => this.write(this.file, checkpoint));
    this.last = next;
    return next;
  }

  async remove(): Promise<void> {
    await this.last.catch(() => undefined);
    await removeCheckpoint(this.file);
  }
}

/**
 * The checkpoint in `file` for `scope`; throws an Error whose message says what is wrong when
 * the file is missing, unreadable, or for another scope.
 */
export async function readCheckpoint(file: string, scope: BackfillScope): Promise<Checkpoint> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new Error(
      `--resume: no checkpoint file ${file} (a run interrupted with Ctrl+C writes it)`,
    );
  }
  let parsed: Partial<Checkpoint> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<Checkpoint>;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.after !== "string" || typeof parsed.scope !== "object") {
    throw new Error(`--resume: ${file} is not a backfill checkpoint`);
  }
  // A checkpoint written before the suffix was part of the scope is of a run over every key.
  const saved: Partial<BackfillScope> = {
    sourceSuffix: "",
    ...(parsed.scope as Partial<BackfillScope>),
  };
  const differs = (Object.keys(scope) as (keyof BackfillScope)[]).filter(
    (name) => saved[name] !== scope[name],
  );
  if (differs.length > 0) {
    throw new Error(
      `--resume: ${file} is the checkpoint of another backfill (${differs
        .map((name) => `${name} ${JSON.stringify(saved[name])}`)
        .join(", ")}); use the same buckets and prefixes, or --checkpoint FILE`,
    );
  }
  return { scope, after: parsed.after };
}

/**
 * Tracks the checkpoint while objects finish out of order: items are numbered in listing order,
 * and `last` is the key of the highest-numbered item such that it and every item before it are done.
 */
export class Watermark {
  private next = 0;
  private readonly finished = new Map<number, string>();
  last: string | undefined;

  complete(index: number, key: string): void {
    this.finished.set(index, key);
    for (
      let key = this.finished.get(this.next);
      key !== undefined;
      key = this.finished.get(this.next)
    ) {
      this.finished.delete(this.next);
      this.last = key;
      this.next += 1;
    }
  }
}
