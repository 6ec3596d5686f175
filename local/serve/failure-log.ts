import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";

/** One line of the on-failure record (JSON lines, newest last). */
export type FailureEntry =
  /** The handler decided the upload can never be thumbnailed (it also tagged the object). */
  | {
      readonly kind: "bad-input";
      readonly bucket: string;
      readonly key: string;
      readonly code: string;
      readonly reason: string;
    }
  /** The invocation threw on every attempt: Lambda's on-failure destination, locally. */
  | {
      readonly kind: "invocation";
      readonly attempts: number;
      readonly code: string;
      readonly reason: string;
      readonly event: unknown;
    };

/**
 * The local on-failure record: `failures.jsonl` in the data folder, one JSON object per line,
 * appended (never rewritten), so a person can `tail` or `jq` it and a crash loses at most the
 * line being written.
 */
export class FailureLog {
  constructor(readonly file: string) {}

  async append(entry: FailureEntry): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(
      this.file,
      `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`,
    );
  }
}
