import { appendFile, mkdir, readFile } from "node:fs/promises";
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

  /** The entries written so far, oldest first; none when the file does not exist yet. */
  async entries(): Promise<(FailureEntry & { readonly time: string })[]> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    // A crash can leave the last line half-written: skip what does not parse.
    return text.split("\n").flatMap((line) => {
      try {
        return line === "" ? [] : [JSON.parse(line)];
      } catch {
        return [];
      }
    });
  }
}
