/** Helpers of every part: figures (quantiles from simple-statistics, rounded), errors, paths. */
import { resolve } from "node:path";
import { quantile } from "simple-statistics";

/** The p-th percentile (p in 0..100; linear interpolation, numpy's default); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  return values.length === 0 ? Number.NaN : quantile([...values], p / 100);
}

export function round(value: number, digits = 1): number {
  return Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The project folder, for files the build does not copy (Dockerfile, bench/pillow.py). */
export const ROOT = resolve(__dirname, "../..");

export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}

/** Progress goes to stderr, so --json's stdout holds only the report. */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
