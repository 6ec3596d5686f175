/**
 * Backfill progress on stderr, for direct mode and for `--batch --wait` alike: a progress bar on a
 * terminal, a plain line every few seconds otherwise (cli-progress's non-TTY output), each with
 * the counters the mode knows, the rate and, once the total is known, the ETA.
 */

import { MultiBar, type SingleBar } from "cli-progress";

export interface ProgressCounts {
  /** Objects (tasks) finished. */
  readonly done: number;
  /** Objects known so far: listed (direct mode), or the job's total (batch). */
  readonly total: number;
  /** Shown in this order, e.g. { made, skipped, failed }. */
  readonly counters: Readonly<Record<string, number>>;
}

export interface Progress {
  update(counts: ProgressCounts): void;
  /** A line above the bar (or plainly, off a terminal). */
  log(line: string): void;
  stop(): void;
}

/** Seconds between plain progress lines when stderr is not a terminal. */
const PLAIN_EVERY_MS = 5_000;

export function createProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  const tty = stream.isTTY === true;
  const started = performance.now();
  const multi = new MultiBar({
    stream,
    format: `${label} ${tty ? "[{bar}] " : ""}{value}/{total} | {counters} | {rate}/s | ETA {eta_formatted}`,
    noTTYOutput: true,
    notTTYSchedule: PLAIN_EVERY_MS,
    hideCursor: tty,
    etaBuffer: 200,
    barsize: 24,
  });
  let bar: SingleBar | undefined;
  const payload = (counts: ProgressCounts) => {
    const seconds = (performance.now() - started) / 1000;
    return {
      counters: Object.entries(counts.counters)
        .map(([name, value]) => `${name} ${value}`)
        .join(", "),
      rate: seconds > 0 ? (counts.done / seconds).toFixed(1) : "0.0",
    };
  };
  return {
    update(counts) {
      if (bar === undefined) {
        bar = multi.create(counts.total, counts.done, payload(counts));
      } else {
        bar.setTotal(counts.total);
        bar.update(counts.done, payload(counts));
      }
    },
    log(line) {
      if (tty) multi.log(`${line}\n`);
      else stream.write(`${line}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
