/** `--compare`'s Pillow and vipsthumbnail, both making the engine's 256x256-inside JPEG q80. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Runner, workerRunner } from "./engine";
import { ROOT, round } from "./stats";

const run = promisify(execFile);

/** Pillow (bench/pillow.py, read from the source tree) on the first Python that has it. */
export function pillowRunner(): Runner {
  const program = join(ROOT, "bench", "pillow.py");
  const commands = ["python3", "/usr/bin/python3"].map((python) => [python, program]);
  return workerRunner("pillow", commands, process.env);
}

/**
 * vipsthumbnail, many files per process: each batch repeats the group's files up to 8 images (24
 * small ones); per image = (batch - start-up) / images, start-up being the fastest
 * `--vips-version` seen (re-measured before every batch). CPU time and peak RSS: /usr/bin/time.
 */
export function vipsRunner(threads: number): Runner {
  let outDir = "";
  let peakKb: number | undefined;
  let startup = { ms: Number.POSITIVE_INFINITY, cpuMs: Number.POSITIVE_INFINITY };
  // Without the VIPSHOME sharp's libvips sets in this process: under it Debian's libvips finds
  // none of its modules, HEIF's loader among them ("not a known file format").
  const { VIPSHOME: _, ...inherited } = process.env;
  const env = { ...inherited, ...(threads > 0 && { VIPS_CONCURRENCY: String(threads) }) };
  const time = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "%U %S %M", "-o"] : [];
  const timed = async (args: string[]) => {
    const timeFile = join(outDir, "time.txt");
    const [command = "", ...rest] = time.length
      ? [...time, timeFile, "vipsthumbnail"]
      : ["vipsthumbnail"];
    const t0 = performance.now();
    await run(command, [...rest, ...args], { env });
    const ms = performance.now() - t0;
    const figures = time.length ? (await readFile(timeFile, "utf8")).trim().split(/\s+/) : [];
    const [user = Number.NaN, sys = Number.NaN, rssKb = Number.NaN] = figures.slice(-3).map(Number);
    if (Number.isFinite(rssKb)) peakKb = Math.max(peakKb ?? 0, rssKb);
    return { ms, cpuMs: (user + sys) * 1000 };
  };
  const measureStartup = async () => {
    const once = await timed(["--vips-version"]);
    startup = { ms: Math.min(startup.ms, once.ms), cpuMs: Math.min(startup.cpuMs, once.cpuMs) };
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
      const output = join(outDir, "%s.jpg[Q=80,strip]");
      try {
        await measureStartup();
        const result = await timed(["--vips-cache-max=0", "-s", "256x256", "-o", output, ...batch]);
        const ms = Math.max(0, result.ms - startup.ms) / batch.length;
        const cpuMs = Math.max(0, result.cpuMs - startup.cpuMs) / batch.length;
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
