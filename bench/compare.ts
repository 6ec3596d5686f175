/**
 * Comparators for `--compare`: Python Pillow (Image.draft + thumbnail, the original Python
 * design) in ONE long-lived process fed file paths, and libvips' `vipsthumbnail` run in
 * batches with its process start-up subtracted (see vipsRunner). Both produce the same 256x256-inside JPEG q80 as our engine.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Runner, workerRunner } from "./engine";
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
        if im.mode in ("P", "1"):
            # Pillow resizes palette images with nearest neighbour (aliased): convert first so
            # its thumbnail is antialiased like ours, a like-for-like comparison.
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
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
  return workerRunner("pillow", async () => {
    const python = await findPython();
    return {
      client: new WorkerClient(python, ["-u", "-c", PILLOW_WORKER], process.env),
      settings: { interpreter: python },
    };
  });
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
  const env: NodeJS.ProcessEnv =
    threads > 0 ? { ...process.env, VIPS_CONCURRENCY: String(threads) } : process.env;

  const timed = async (args: string[]): Promise<{ ms: number; cpuMs?: number }> => {
    const timeFile = join(outDir, "time.txt");
    const withTime = await hasUsrBinTime;
    const t0 = performance.now();
    if (withTime) {
      await run("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, "vipsthumbnail", ...args], {
        env,
      });
    } else {
      await run("vipsthumbnail", args, { env });
    }
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

const hasUsrBinTime = access("/usr/bin/time", constants.X_OK).then(
  () => true,
  () => false,
);
