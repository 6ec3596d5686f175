/**
 * Engine benchmark: the corpus through each thumbnailer ("runner"), interleaved group by group
 * (format class and size tier) and round by round so background load hits all alike. Per image
 * the best of the rounds counts for throughput, every sample for p50/p95.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { sum } from "simple-statistics";
import { CLASS_ORDER, type CorpusImage } from "./corpus";
import { errorText, groupBy, log, percentile, round } from "./stats";

export type Sample = { ms: number; cpuMs?: number; error?: string };

export type Runner = ReturnType<typeof workerRunner>;

export type EngineResult = Awaited<ReturnType<typeof benchEngines>>;

interface Active {
  runner: Runner;
  settings: Record<string, string | number>;
  unsupported: Record<string, string>;
  samples: Map<CorpusImage, Sample[]>;
  rssAfter: Map<string, number | undefined>;
}

const groupOf = (image: CorpusImage) => `${image.cls} ${image.megapixels < 5 ? "<5MP" : ">=5MP"}`;

export async function benchEngines(images: CorpusImage[], runners: Runner[], rounds: number) {
  const notes: string[] = [];
  const active: Active[] = [];
  for (const runner of runners) {
    try {
      const settings = await runner.start();
      active.push({ runner, settings, unsupported: {}, samples: new Map(), rssAfter: new Map() });
    } catch (error) {
      notes.push(`${runner.name} not run: ${errorText(error)}`);
      await runner.close();
    }
  }
  // Warm-up on each class's smallest image: loads codecs, and finds what a runner cannot read.
  for (const [cls, list] of groupBy(images, (image) => image.cls)) {
    const smallest = [...list].sort((a, b) => a.megapixels - b.megapixels)[0];
    for (const entry of smallest ? active : []) {
      const [sample] = await entry.runner.run([smallest as CorpusImage]);
      if (sample?.error) entry.unsupported[cls] = sample.error.slice(0, 200);
    }
  }
  // HEIC last (WebAssembly memory never shrinks): the RSS after each group shows what raised it.
  const order = (image: CorpusImage) => CLASS_ORDER.indexOf(image.cls);
  const sorted = [...images].sort((a, b) => order(a) - order(b) || a.megapixels - b.megapixels);
  const groups = groupBy(sorted, groupOf);
  for (let round = 0; round < rounds; round++) {
    log(`  engine round ${round + 1}/${rounds}`);
    for (const [group, list] of groups) {
      // Rotate the order each round so no runner always goes first (or last) after another.
      const rotated = active.map((_, i) => active[(i + round) % active.length] as Active);
      for (const entry of rotated) {
        if (entry.unsupported[list[0]?.cls ?? "other"]) continue;
        const samples = await entry.runner.run(list);
        list.forEach((image, i) => {
          const sample = samples[i] ?? { ms: Number.NaN, error: "no reply" };
          entry.samples.set(image, [...(entry.samples.get(image) ?? []), sample]);
        });
        if (round === 0) entry.rssAfter.set(group, await entry.runner.peakRssMb());
      }
    }
  }
  const results = [];
  for (const entry of active) results.push(await finish(entry));
  return { rounds, runners: results, notes };
}

async function finish({ runner, settings, unsupported, samples, rssAfter }: Active) {
  const bestMs: Record<string, number> = {};
  const bestCpuMs: Record<string, number> = {};
  for (const [image, list] of samples) {
    if (list.some((s) => s.error)) continue;
    bestMs[image.name] = round(Math.min(...list.map((s) => s.ms)), 2);
    const cpu = Math.min(...list.map((s) => s.cpuMs ?? Number.NaN));
    if (Number.isFinite(cpu)) bestCpuMs[image.name] = round(cpu, 2);
  }
  const groups = summarise(samples, runner.perImage).map((g) => ({
    ...g,
    rssHighWaterMb: rssAfter.get(g.group), // after this group in the first round
  }));
  const peakRssMb = await runner.peakRssMb();
  await runner.close();
  return { name: runner.name, settings, peakRssMb, unsupported, groups, bestMs, bestCpuMs };
}

function summarise(samples: Map<CorpusImage, Sample[]>, perImage: boolean) {
  const entries = [...samples];
  const groups = [...groupBy(entries, ([image]) => groupOf(image)), ["all", entries] as const];
  return groups.map(([group, entries]) => {
    const ok = entries.filter(([, list]) => list.every((s) => !s.error));
    const errors = entries
      .filter(([, list]) => list.some((s) => s.error))
      .map(([image, list]) => `${image.name}: ${list.find((s) => s.error)?.error}`);
    const best = (list: Sample[], of: (s: Sample) => number) => Math.min(...list.map(of));
    const totalMs = sum(ok.map(([, list]) => best(list, (s) => s.ms)));
    const cpuMs = sum(ok.map(([, list]) => best(list, (s) => s.cpuMs ?? Number.NaN)));
    const all = ok.flatMap(([, list]) => list.map((s) => s.ms));
    const megapixels = sum(ok.map(([image]) => image.megapixels));
    return {
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
    };
  });
}

export const IMPLS = ["engine", "engine-3-renditions", "sharp-plain"] as const;
export type Impl = (typeof IMPLS)[number];
type Env = Record<string, string>;

/** `extraEnv` (an empty value unsets) names a variant after it: "engine MALLOC_ARENA_MAX=". */
export function nodeRunner(impl: Impl, threads: number, baseEnv: Env = {}, extraEnv: Env = {}) {
  const variant = Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...baseEnv, ...extraEnv };
  env.BENCH_THREADS = String(threads);
  for (const [key, value] of Object.entries(env)) if (value === "") delete env[key];
  if (threads > 0) env.UV_THREADPOOL_SIZE = env.VIPS_CONCURRENCY = String(threads);
  const command = [process.execPath, join(__dirname, "engine-worker.js"), impl];
  return workerRunner([impl, ...variant].join(" "), [command], env);
}

type WorkerReply = Partial<
  Sample & { maxRssKb: number; settings: Record<string, string | number> }
>;

/**
 * A long-lived worker (the first of `commands` that starts), so per-image figures exclude process
 * start. Node's IPC channel carries one JSON request ({path} or {rss: true}) and one reply at a
 * time, the first reply saying it is ready.
 */
export function workerRunner(name: string, commands: string[][], env: NodeJS.ProcessEnv) {
  let child: ChildProcess | undefined;
  let ended = Promise.resolve<WorkerReply>({ error: "not started" });
  const request = (message?: object): Promise<WorkerReply> => {
    if (message && child?.connected) child.send(message);
    const reply = child ? once(child, "message").then(([r]) => r as WorkerReply) : ended;
    return Promise.race([reply, ended]);
  };
  const close = async () => {
    if (child?.connected) child.disconnect(); // the worker's last request: it exits
    const timer = setTimeout(() => child?.kill("SIGKILL"), 5000);
    await ended;
    clearTimeout(timer);
  };
  return {
    name,
    /** False when only a mean per batch (one group) is known: no per-image percentiles. */
    perImage: true,
    async start(): Promise<Record<string, string | number>> {
      let ready: WorkerReply = {};
      for (const [command = "", ...args] of commands) {
        let stderr = "";
        child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe", "ipc"] });
        child.stderr?.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk}`.slice(-4000)));
        ended = new Promise((resolve) => {
          const end = (why: unknown) =>
            resolve({
              error: `${command} ended (${errorText(why)}): ${stderr.trim().slice(-500)}`,
            });
          child?.on("exit", end).on("error", end);
        });
        ready = await request();
        if (!ready.error) return ready.settings ?? {};
        await close();
      }
      throw new Error(ready.error);
    },
    async run(images: readonly CorpusImage[]): Promise<Sample[]> {
      const out: Sample[] = [];
      for (const image of images) {
        const reply = await request({ path: image.path });
        out.push({ ms: reply.ms ?? Number.NaN, cpuMs: reply.cpuMs, error: reply.error });
      }
      return out;
    },
    async peakRssMb(): Promise<number | undefined> {
      const { maxRssKb } = await request({ rss: true });
      return maxRssKb === undefined ? undefined : round(maxRssKb / 1024);
    },
    close,
  };
}
