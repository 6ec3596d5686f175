/**
 * Engine benchmark: thumbnails the corpus through one or more thumbnailers ("runners": our
 * engine, and with --compare the plain sharp pipeline, Pillow and vipsthumbnail), interleaved
 * group by group (format class and size) and round by round so background load hits all of them alike.
 *
 * Per image the best of the rounds is kept (the least-disturbed measurement on a shared
 * machine); throughput is computed from those, p50/p95 from every sample.
 */
import { join } from "node:path";
import { sum } from "simple-statistics";
import type { CorpusImage, FormatClass } from "./corpus";
import { percentile, round } from "./stats";
import { WorkerClient } from "./worker-client";

export interface Sample {
  ms: number;
  cpuMs?: number;
  error?: string;
}

export interface Runner {
  readonly name: string;
  /** False when only a mean per batch (one group) is known: no per-image percentiles. */
  readonly perImage: boolean;
  /** Loads the thumbnailer; returns its settings, or throws when it is not available. */
  start(): Promise<Record<string, string | number>>;
  run(images: readonly CorpusImage[]): Promise<Sample[]>;
  peakRssMb(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface ClassStats {
  group: string;
  images: number;
  megapixels: number;
  /** Sum over images of the best-of-rounds milliseconds. */
  totalMs: number;
  imagesPerSec: number;
  megapixelsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  /** CPU milliseconds (all threads), best of rounds, summed; the steadier figure when busy. */
  cpuMs: number;
  /** The runner's peak RSS after this group in the first round (groups run in a fixed order). */
  rssHighWaterMb?: number;
  errors: string[];
}

const CLASS_ORDER: FormatClass[] = [
  "jpeg",
  "jpeg-progressive",
  "webp",
  "png",
  "png-alpha",
  "gif",
  "other",
  "heic",
];

export interface RunnerResult {
  name: string;
  settings: Record<string, string | number>;
  peakRssMb?: number;
  unsupported: Record<string, string>;
  groups: ClassStats[];
  /** Per image made in every round (by name): the best of the rounds, milliseconds. */
  bestMs: Record<string, number>;
  /** The same for CPU time (all threads): the steadier figure on a busy machine. */
  bestCpuMs: Record<string, number>;
}

export interface EngineResult {
  rounds: number;
  runners: RunnerResult[];
  notes: string[];
}

/** Format class plus size tier: the rows of the engine table. */
export function groupOf(image: CorpusImage): string {
  return `${image.cls} ${image.megapixels < 5 ? "<5MP" : ">=5MP"}`;
}

export async function benchEngines(
  images: readonly CorpusImage[],
  runners: Runner[],
  options: { rounds: number; log: (line: string) => void },
): Promise<EngineResult> {
  const notes: string[] = [];
  const active: {
    runner: Runner;
    result: RunnerResult;
    samples: Map<CorpusImage, Sample[]>;
    rssAfter: Map<string, number | undefined>;
  }[] = [];
  for (const runner of runners) {
    try {
      const settings = await runner.start();
      active.push({
        runner,
        result: emptyResult(runner.name, settings),
        samples: new Map(),
        rssAfter: new Map(),
      });
    } catch (error) {
      notes.push(`${runner.name} not run: ${error instanceof Error ? error.message : error}`);
      await runner.close();
    }
  }

  const byClass = new Map<FormatClass, CorpusImage[]>();
  for (const image of images) byClass.set(image.cls, [...(byClass.get(image.cls) ?? []), image]);

  // Warm-up on each class's smallest image: loads codecs, and finds what a runner cannot read.
  for (const [cls, list] of byClass) {
    const smallest = [...list].sort((a, b) => a.megapixels - b.megapixels)[0];
    if (!smallest) continue;
    for (const entry of active) {
      const [sample] = await entry.runner.run([smallest]);
      if (sample?.error) entry.result.unsupported[cls] = sample.error.slice(0, 200);
    }
  }

  // Groups in a fixed order, small before large and HEIC (decoded in WebAssembly, whose memory
  // never shrinks) last, so the RSS high-water mark after each group shows what raised it.
  const byGroup = new Map<string, CorpusImage[]>();
  const ordered = [...images].sort(
    (a, b) =>
      CLASS_ORDER.indexOf(a.cls) - CLASS_ORDER.indexOf(b.cls) || a.megapixels - b.megapixels,
  );
  for (const image of ordered)
    byGroup.set(groupOf(image), [...(byGroup.get(groupOf(image)) ?? []), image]);
  for (let round = 0; round < options.rounds; round++) {
    options.log(`  engine round ${round + 1}/${options.rounds}`);
    for (const [group, list] of byGroup) {
      const cls = list[0]?.cls ?? "other";
      // Rotate the order each round so no runner always goes first (or last) after another.
      const order = active.map((_, i) => active[(i + round) % active.length]);
      for (const entry of order) {
        if (!entry || entry.result.unsupported[cls]) continue;
        const samples = await entry.runner.run(list);
        list.forEach((image, i) => {
          const sample = samples[i] ?? { ms: Number.NaN, error: "no reply" };
          entry.samples.set(image, [...(entry.samples.get(image) ?? []), sample]);
        });
        if (round === 0) entry.rssAfter.set(group, await entry.runner.peakRssMb());
      }
    }
  }

  for (const entry of active) {
    entry.result.groups = summarise(entry.samples, entry.runner.perImage).map((g) => ({
      ...g,
      rssHighWaterMb: entry.rssAfter.get(g.group),
    }));
    for (const [image, list] of entry.samples) {
      if (list.some((s) => s.error)) continue;
      entry.result.bestMs[image.name] = round(Math.min(...list.map((s) => s.ms)), 2);
      const cpu = Math.min(...list.map((s) => s.cpuMs ?? Number.NaN));
      if (Number.isFinite(cpu)) entry.result.bestCpuMs[image.name] = round(cpu, 2);
    }
    entry.result.peakRssMb = await entry.runner.peakRssMb();
    await entry.runner.close();
  }
  return { rounds: options.rounds, runners: active.map((e) => e.result), notes };
}

function emptyResult(name: string, settings: Record<string, string | number>): RunnerResult {
  return { name, settings, unsupported: {}, groups: [], bestMs: {}, bestCpuMs: {} };
}

function summarise(samples: Map<CorpusImage, Sample[]>, perImage: boolean): ClassStats[] {
  const groups = new Map<string, [CorpusImage, Sample[]][]>();
  for (const [image, list] of samples) {
    for (const key of [groupOf(image), "all"]) {
      groups.set(key, [...(groups.get(key) ?? []), [image, list]]);
    }
  }
  const out: ClassStats[] = [];
  for (const [group, entries] of groups) {
    const ok = entries.filter(([, list]) => list.every((s) => !s.error));
    const errors = entries
      .filter(([, list]) => list.some((s) => s.error))
      .map(([image, list]) => `${image.name}: ${list.find((s) => s.error)?.error}`);
    const best = (list: Sample[], of: (s: Sample) => number) => Math.min(...list.map(of));
    const totalMs = sum(ok.map(([, list]) => best(list, (s) => s.ms)));
    const cpuMs = sum(ok.map(([, list]) => best(list, (s) => s.cpuMs ?? Number.NaN)));
    const all = ok.flatMap(([, list]) => list.map((s) => s.ms));
    const megapixels = sum(ok.map(([image]) => image.megapixels));
    out.push({
      group,
      images: ok.length,
      megapixels: round(megapixels, 2),
      totalMs: round(totalMs),
      imagesPerSec: round((ok.length / totalMs) * 1000),
      megapixelsPerSec: round((megapixels / totalMs) * 1000),
      p50Ms: perImage ? round(percentile(all, 50)) : Number.NaN,
      p95Ms: perImage ? round(percentile(all, 95)) : Number.NaN,
      cpuMs: round(cpuMs),
      errors,
    });
  }
  return out.sort((a, b) => (a.group === "all" ? 1 : b.group === "all" ? -1 : 0));
}

/**
 * What an engine worker (engine-worker.ts) can run: our engine with its single default
 * rendition (today's thumbnail), our engine making bench/product-renditions.ts's 3 renditions
 * from one decode, or the plain sharp pipeline.
 */
export const IMPLS = ["engine", "engine-3-renditions", "sharp-plain"] as const;
export type Impl = (typeof IMPLS)[number];

/**
 * One of IMPLS in its own process, one core by default, with
 * `baseEnv` added to this process's environment. `extraEnv` runs a variant in a different
 * environment (e.g. MALLOC_ARENA_MAX=2; an empty value unsets), named after it.
 */
export function nodeRunner(
  impl: Impl,
  threads: number,
  baseEnv: Record<string, string> = {},
  extraEnv: Record<string, string> = {},
): Runner {
  const variant = Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`);
  const name = variant.length > 0 ? `${impl} ${variant.join(" ")}` : impl;
  return workerRunner(name, async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...baseEnv,
      ...extraEnv,
      BENCH_THREADS: String(threads),
    };
    for (const [key, value] of Object.entries(env)) if (value === "") delete env[key];
    if (threads > 0) {
      env.UV_THREADPOOL_SIZE = String(threads);
      env.VIPS_CONCURRENCY = String(threads);
    }
    return {
      client: new WorkerClient(process.execPath, [join(__dirname, "engine-worker.js"), impl], env),
    };
  });
}

/**
 * A runner backed by a long-lived worker process (worker-client.ts's line protocol): `launch`
 * spawns it and may add settings to report; the worker answers one request per image.
 */
export function workerRunner(
  name: string,
  launch: () => Promise<{ client: WorkerClient; settings?: Record<string, string | number> }>,
): Runner {
  let client: WorkerClient | undefined;
  return {
    name,
    perImage: true,
    async start() {
      const launched = await launch();
      client = launched.client;
      const ready = await client.ready();
      if (ready.error) throw new Error(ready.error);
      return { ...ready.settings, ...launched.settings };
    },
    async run(images) {
      const out: Sample[] = [];
      for (const image of images) {
        const reply = (await client?.request({ path: image.path })) ?? { error: "not started" };
        out.push({ ms: reply.ms ?? Number.NaN, cpuMs: reply.cpuMs, error: reply.error });
      }
      return out;
    },
    async peakRssMb() {
      const reply = await client?.request({ rss: true });
      return reply?.maxRssKb === undefined ? undefined : round(reply.maxRssKb / 1024);
    },
    async close() {
      await client?.close();
    },
  };
}
