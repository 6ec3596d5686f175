/**
 * Comparators for `--compare`: Python Pillow (Image.draft + thumbnail, the original Python
 * design) in ONE long-lived process fed file paths, and libvips' `vipsthumbnail` run in
 * batches with its process start-up cancelled out (see vipsRunner). Both produce the same 256x256-inside JPEG q80 as our engine.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Runner, Sample } from "./engine";
import { round } from "./stats";
import { WorkerClient } from "./worker-client";

const run = promisify(execFile);

const PILLOW_WORKER = String.raw`
import io, json, resource, sys, time
import PIL
from PIL import Image, ImageOps

def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()

def thumbnail(path):
    with Image.open(path) as im:
        im.draft("RGB", (256, 256))  # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale
        im.thumbnail((256, 256))
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        elif im.mode != "RGB":
            im = im.convert("RGB")
        out = io.BytesIO()
        im.save(out, "JPEG", quality=80)
        return out.getbuffer().nbytes, im.size

reply({"ready": True, "settings": {"pillow": PIL.__version__, "python": sys.version.split()[0], "threads": 1}})
for line in sys.stdin:
    request = json.loads(line)
    if request.get("rss"):
        reply({"maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
        continue
    c0 = time.process_time()
    t0 = time.perf_counter()
    try:
        nbytes, (w, h) = thumbnail(request["path"])
        reply({"ms": (time.perf_counter() - t0) * 1000, "cpuMs": (time.process_time() - c0) * 1000,
               "bytes": nbytes, "width": w, "height": h})
    except Exception as error:
        reply({"error": type(error).__name__ + ": " + str(error)})
`;

/** Pillow via the first of `python3`, `/usr/bin/python3` that can import PIL. */
export function pillowRunner(): Runner {
  let client: WorkerClient | undefined;
  return {
    name: "pillow",
    perImage: true,
    async start() {
      const python = await findPython();
      client = new WorkerClient(python, ["-u", "-c", PILLOW_WORKER], process.env);
      const ready = await client.ready();
      if (ready.error) throw new Error(ready.error);
      return { ...ready.settings, interpreter: python };
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

async function findPython(): Promise<string> {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    try {
      await run(candidate, ["-c", "import PIL"]);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error("no python3 with Pillow (try: apt-get install python3-pil)");
}

/**
 * vipsthumbnail, which takes many files per process. Its per-image cost is measured by
 * difference, so process start-up (about as long as a dozen small thumbnails) cancels out:
 * one process over the group's files once, one over them `1 + repeat` times; per image =
 * (second - first) / (repeat x files). That is the cost inside a long-lived process, like the
 * other runners. CPU time and peak RSS come from /usr/bin/time when present.
 */
export function vipsRunner(threads: number): Runner {
  let outDir = "";
  let peakKb: number | undefined;
  const env: NodeJS.ProcessEnv =
    threads > 0 ? { ...process.env, VIPS_CONCURRENCY: String(threads) } : process.env;

  const batch = async (files: string[]): Promise<{ ms: number; cpuMs?: number }> => {
    // No operation cache: a repeated file would be served from it, and our engine runs without one.
    const args = [
      "--vips-cache-max=0",
      "-s",
      "256x256",
      "-o",
      join(outDir, "%s.jpg[Q=80,strip]"),
      ...files,
    ];
    const timeFile = join(outDir, "time.txt");
    const withTime = await hasUsrBinTime;
    const t0 = performance.now();
    if (withTime)
      await run("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, "vipsthumbnail", ...args], {
        env,
      });
    else await run("vipsthumbnail", args, { env });
    const ms = performance.now() - t0;
    if (!withTime) return { ms };
    const [user, sys, rssKb] = (await readFile(timeFile, "utf8"))
      .trim()
      .split(/\s+/)
      .slice(-3)
      .map(Number);
    if (rssKb !== undefined && Number.isFinite(rssKb)) peakKb = Math.max(peakKb ?? 0, rssKb);
    return { ms, cpuMs: user !== undefined && sys !== undefined ? (user + sys) * 1000 : undefined };
  };

  return {
    name: "vipsthumbnail",
    perImage: false,
    async start() {
      const { stdout } = await run("vipsthumbnail", ["--vips-version"], { env });
      outDir = await mkdtemp(join(tmpdir(), "bench-vips-"));
      return {
        version: stdout.trim(),
        VIPS_CONCURRENCY: env.VIPS_CONCURRENCY ?? "default",
        "per image": "by difference of two batches (start-up excluded)",
      };
    },
    async run(images) {
      const files = images.map((image) => image.path);
      const repeat = Math.max(1, Math.ceil(4 / files.length));
      try {
        const once = await batch(files);
        const more = await batch(Array.from({ length: repeat + 1 }, () => files).flat());
        const n = repeat * files.length;
        const ms = Math.max(0, more.ms - once.ms) / n;
        const cpuMs =
          once.cpuMs === undefined || more.cpuMs === undefined
            ? undefined
            : Math.max(0, more.cpuMs - once.cpuMs) / n;
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

const hasUsrBinTime = access("/usr/bin/time", constants.X_OK).then(
  () => true,
  () => false,
);
