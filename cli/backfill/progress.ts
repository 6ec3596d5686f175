/**
 * Backfill progress on stderr, for direct mode and for `--batch --wait` alike: a progress bar on a
 * terminal, a plain line every few seconds otherwise (cli-progress's non-TTY output), each with
 * the counters the mode knows, the rate and, once the total is known, the ETA.
 */

import { Format, MultiBar, type SingleBar } from "cli-progress";

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
    // cli-progress's ETA is the string "NULL" or "INF" when it has no rate yet, which its own
    // formatter prints as "LLs" or "NFs".
    formatTime: (eta, options, round) =>
      Number.isFinite(Number(eta)) ? Format.TimeFormat(Number(eta), options, round) : "?",
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
      // Created at 0, so the ETA's rate has a first sample below the objects already done (created
      // at 1 of 1 and updated to 1 of 1, cli-progress divides 0 by 0).
      bar ??= multi.create(counts.total, 0, payload(counts));
      bar.setTotal(counts.total);
      bar.update(counts.done, payload(counts));
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
