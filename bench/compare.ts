/**
 * Comparators for `--compare`: Python Pillow (Image.draft + thumbnail, the original Python
 * design; bench/pillow.py) in ONE long-lived process fed file paths, and libvips'
 * `vipsthumbnail` run in batches with its process start-up subtracted (see vipsRunner). Both
 * produce the same 256x256-inside JPEG q80 as our engine.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Runner, workerRunner } from "./engine";
import { ROOT, round } from "./stats";

const run = promisify(execFile);

/** Pillow (bench/pillow.py) on the first of `python3`, `/usr/bin/python3` that has it. */
export function pillowRunner(): Runner {
  // Not compiled to dist/: read from the source tree.
  const program = join(ROOT, "bench", "pillow.py");
  const commands = ["python3", "/usr/bin/python3"].map((python) => [python, "-u", program]);
  return workerRunner("pillow", commands, process.env);
}

/**
 * vipsthumbnail, which takes many files per process. Each batch repeats the group's files
 * (with libvips' operation cache off, so every repeat is real work) until it holds at least
 * 8 images, or 24 for small ones, and its process start-up is subtracted: per image =
 * (batch - start-up) / images, start-up being the fastest `vipsthumbnail --vips-version` seen
 * in the run (re-measured before every batch). CPU time likewise, from /usr/bin/time when
 * present, which also gives peak RSS.
 */
export function vipsRunner(threads: number): Runner {
  let outDir = "";
  let peakKb: number | undefined;
  let startup = { ms: Number.POSITIVE_INFINITY, cpuMs: Number.POSITIVE_INFINITY };
  const env = { ...process.env, ...(threads > 0 && { VIPS_CONCURRENCY: String(threads) }) };
  const withTime = existsSync("/usr/bin/time");

  const timed = async (args: string[]): Promise<{ ms: number; cpuMs?: number }> => {
    const timeFile = join(outDir, "time.txt");
    const t0 = performance.now();
    if (withTime) {
      const time = ["-f", "%U %S %M", "-o", timeFile];
      await run("/usr/bin/time", [...time, "vipsthumbnail", ...args], { env });
    } else await run("vipsthumbnail", args, { env });
    const ms = performance.now() - t0;
    if (!withTime) return { ms };
    const figures = (await readFile(timeFile, "utf8")).trim().split(/\s+/).slice(-3);
    const [user = Number.NaN, sys = Number.NaN, rssKb = Number.NaN] = figures.map(Number);
    if (Number.isFinite(rssKb)) peakKb = Math.max(peakKb ?? 0, rssKb);
    return { ms, cpuMs: (user + sys) * 1000 };
  };
  const measureStartup = async () => {
    const once = await timed(["--vips-version"]);
    startup = {
      ms: Math.min(startup.ms, once.ms),
      cpuMs: Math.min(startup.cpuMs, once.cpuMs ?? Number.POSITIVE_INFINITY),
    };
  };

  return {
    name: "vipsthumbnail",
    perImage: false,
    async start() {
      const { stdout } = await run("vipsthumbnail", ["--vips-version"], { env });
      outDir = await mkdtemp(join(tmpdir(), "bench-vips-"));
      for (let i = 0; i < 3; i++) await measureStartup();
      return {
        version: stdout.trim(),
        VIPS_CONCURRENCY: env.VIPS_CONCURRENCY ?? "default",
        "per image": "batched, process start-up subtracted",
      };
    },
    async run(images) {
      const files = images.map((image) => image.path);
      const small = images.every((image) => image.megapixels < 5);
      const repeat = Math.max(1, Math.ceil((small ? 24 : 8) / files.length));
      const batch = Array.from({ length: repeat }, () => files).flat();
      // No operation cache: a repeated file would be served from it, and our engine has none.
      const args = [
        "--vips-cache-max=0",
        "-s",
        "256x256",
        "-o",
        join(outDir, "%s.jpg[Q=80,strip]"),
      ];
      try {
        await measureStartup();
        const result = await timed([...args, ...batch]);
        const ms = Math.max(0, result.ms - startup.ms) / batch.length;
        const cpuMs =
          result.cpuMs === undefined || !Number.isFinite(startup.cpuMs)
            ? undefined
            : Math.max(0, result.cpuMs - startup.cpuMs) / batch.length;
        return images.map(() => ({ ms, cpuMs }));
      } catch (err) {
        const stderr = err instanceof Error && "stderr" in err ? String(err.stderr) : "";
        const error = `vipsthumbnail failed: ${stderr.trim().split("\n")[0] ?? ""}`;
        return images.map(() => ({ ms: Number.NaN, error }));
      }
    },
    async peakRssMb() {
      return peakKb === undefined ? undefined : round(peakKb / 1024);
    },
    async close() {
      if (outDir) await rm(outDir, { recursive: true, force: true });
    },
  };
}
