/**
 * `npm run bench` runs end to end in --quick mode on a tiny folder of real images and
 * prints valid --json. Not a timed test: it checks the benchmark works and reports every part,
 * never how fast anything is. Integration: real sharp, real s3rver, real child processes.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { sum } from "simple-statistics";
import { PRODUCT_RENDITIONS } from "../bench/product-renditions";
import { type HeicFixture, heicFixture } from "./support/heic-fixtures";

const run = promisify(execFile);
const root = resolve(__dirname, "..");
/** What `npm run bench` runs. */
const bench = join(root, "dist", "bench", "index.js");

interface Report {
  environment: { loadAverage: number[] };
  corpus: { images: number; classes: Record<string, number> };
  notes: string[];
  engine: {
    runners: {
      name: string;
      settings: Record<string, string | number>;
      peakRssMb: number;
      groups: { group: string; images: number; imagesPerSec: number; p50Ms: number }[];
      bestMs: Record<string, number>;
      bestCpuMs: Record<string, number>;
      unsupported: Record<string, string>;
    }[];
  };
  ratios?: { group: string; ours: number; best: string; bestImagesPerSec: number; ratio: number }[];
  heicItems?: {
    rows: {
      image: string;
      size: string;
      primarySize: string;
      orientation: string;
      sameSize: boolean;
      mad: number[];
      itemMs: number;
      primaryMs: number;
    }[];
  };
  renditions: {
    list: string;
    groups: {
      group: string;
      images: number;
      oneP50Ms: number;
      threeP50Ms: number;
      oneMeanMs: number;
      threeMeanMs: number;
      ratio: number;
    }[];
    perImageRatio: {
      images: number;
      p50: number;
      min: number;
      max: number;
      cpuP50: number;
      cpuMin: number;
      cpuMax: number;
    };
  };
  coldStart: { variants: { name: string; readyP50Ms: number; firstP50Ms: number | null }[] };
  endToEnd: { uploads: number; latencyP50Ms: number; engineMs: number; throughput: number };
  targets: { name: string; measured: string; met?: boolean }[];
}

describe("npm run bench (integration: real sharp, s3rver, child processes)", () => {
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(bench)) {
      throw new Error("dist/ is not built: run `npm run build` (npm test does it first)");
    }
    dir = await mkdtemp(join(tmpdir(), "bench-test-"));
    const picture = () =>
      sharp({ create: { width: 96, height: 64, channels: 4, background: "#3366cc80" } });
    await picture().flatten().jpeg().toFile(join(dir, "photo.jpg"));
    await picture().png().toFile(join(dir, "cut-out.png"));
    await picture().webp().toFile(join(dir, "photo.webp"));
    await writeFile(join(dir, "notes.txt"), "not an image");
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints its options with --help", async () => {
    const { stdout } = await run(process.execPath, [bench, "--help"]);

    expect(stdout).toContain("Usage: npm run bench -- [options]");
    expect(stdout).toMatch(/--quick/);
    expect(stdout).toMatch(/--compare/);
  });

  it("names the option meant for a misspelt one", async () => {
    const failure = await run(process.execPath, [bench, "--round", "9"]).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );

    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(
      /Unknown option '--round'; did you mean --rounds\?/,
    );
  });

  it("rejects an unknown part with a usage error", async () => {
    const failure = await run(process.execPath, [bench, "--only", "warp-drive"]).catch(
      (error: unknown) => error as { code: number; stderr: string },
    );

    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("warp-drive");
  });

  describe("one --quick --json run on a folder", () => {
    // One run for the assertions below: the bench is the slow part, and CI's machine is shared.
    let report: Report;
    beforeAll(async () => {
      const { stdout } = await run(
        process.execPath,
        // A cache outside the project, as a user may keep it: the bundle must still load sharp.
        [bench, "--quick", "--json", "--dir", dir, "--cache", join(dir, "cache")].concat([
          "--processes",
          "1",
          "--uploads",
          "2",
        ]),
        { cwd: root, maxBuffer: 16 << 20, timeout: 170_000 },
      );
      report = JSON.parse(stdout) as Report;
    }, 180_000);

    it("measures engine, cold start and end to end and prints JSON", () => {
      expect(report.corpus).toMatchObject({
        images: 3,
        classes: { jpeg: 1, "png-alpha": 1, webp: 1 },
      });
      expect(report.notes.join("\n")).toContain("notes.txt");

      const engine = report.engine.runners.find((r) => r.name === "engine");
      expect(engine?.settings["sharp.concurrency"]).toBe(1);
      expect(engine?.peakRssMb).toBeGreaterThan(0);
      const jpeg = engine?.groups.find((g) => g.group === "jpeg <5MP");
      expect(jpeg).toMatchObject({ images: 1 });
      expect(jpeg?.imagesPerSec).toBeGreaterThan(0);
      expect(jpeg?.p50Ms).toBeGreaterThan(0);

      const bundle = report.coldStart.variants.find((v) => v.name === "bundle");
      expect(bundle?.readyP50Ms).toBeGreaterThan(0);
      const handler = report.coldStart.variants.find((v) => v.name === "handler");
      expect(handler?.readyP50Ms).toBeGreaterThan(0);
      expect(handler?.firstP50Ms).toBeGreaterThan(handler?.readyP50Ms ?? 0);
      // The reference the target is stated against makes a real thumbnail too.
      const plain = report.coldStart.variants.find((v) => v.name === "plain sharp + S3 client");
      expect(plain?.firstP50Ms).toBeGreaterThan(plain?.readyP50Ms ?? 0);

      expect(report.endToEnd.uploads).toBe(2);
      expect(report.endToEnd.latencyP50Ms).toBeGreaterThan(0);
      expect(report.endToEnd.throughput).toBeGreaterThan(0);

      expect(report.targets.map((t) => t.name)).toHaveLength(9);
      expect(report.environment.loadAverage).toHaveLength(3);
    });

    it("measures the 3 renditions of a product page against 1 on the same images", () => {
      const { renditions } = report;

      // The measured list is the shared one (the example), not a copy.
      expect(JSON.parse(renditions.list)).toEqual(PRODUCT_RENDITIONS);
      // Both runners made every image, and per image the ratio is 3's time over 1's.
      const runner = (name: string) => report.engine.runners.find((r) => r.name === name);
      expect(runner("engine")?.settings.renditions).toBe("default 256x256-inside-q80.jpeg");
      expect(runner("engine-3-renditions")?.settings.renditions).toBe(
        "small 256x256-inside-q80.jpeg, square 200x200-cover-attention-q80.webp, " +
          "anim 128x128-inside-q80-animated.webp",
      );
      const one = runner("engine")?.bestMs ?? {};
      const three = runner("engine-3-renditions")?.bestMs ?? {};
      expect(Object.keys(three).sort()).toEqual(["cut-out.png", "photo.jpg", "photo.webp"]);
      expect(Object.keys(one).sort()).toEqual(Object.keys(three).sort());
      const ratios = Object.keys(one).map((image) => (three[image] ?? 0) / (one[image] ?? 1));
      expect(renditions.perImageRatio).toMatchObject({ images: 3 });
      expect(renditions.perImageRatio.min).toBeCloseTo(Math.min(...ratios), 2);
      expect(renditions.perImageRatio.max).toBeCloseTo(Math.max(...ratios), 2);
      expect(renditions.perImageRatio.p50).toBeCloseTo(
        [...ratios].sort((a, b) => a - b)[1] ?? 0,
        2,
      );
      const oneCpu = runner("engine")?.bestCpuMs ?? {};
      const threeCpu = runner("engine-3-renditions")?.bestCpuMs ?? {};
      expect(Object.keys(threeCpu).sort()).toEqual(Object.keys(three).sort());
      const cpuRatios = Object.keys(oneCpu)
        .map((image) => (threeCpu[image] ?? 0) / (oneCpu[image] ?? 1))
        .sort((a, b) => a - b);
      expect(cpuRatios[0]).toBeGreaterThan(0);
      expect(renditions.perImageRatio).toMatchObject({
        cpuMin: expect.closeTo(cpuRatios[0] ?? 0, 2),
        cpuP50: expect.closeTo(cpuRatios[1] ?? 0, 2),
        cpuMax: expect.closeTo(cpuRatios[2] ?? 0, 2),
      });

      expect(renditions.groups.map((g) => g.group).sort()).toEqual(
        ["all", "jpeg <5MP", "png-alpha <5MP", "webp <5MP"].sort(),
      );
      for (const group of renditions.groups) {
        expect(group.oneP50Ms).toBeGreaterThan(0);
        expect(group.threeP50Ms).toBeGreaterThan(0);
        expect(group.ratio).toBeCloseTo(group.threeMeanMs / group.oneMeanMs, 1);
      }
      const all = renditions.groups.find((g) => g.group === "all");
      expect(all).toMatchObject({ images: 3 });
      expect(all?.oneMeanMs).toBeCloseTo(sum(Object.values(one)) / 3, 1);
      expect(all?.threeMeanMs).toBeCloseTo(sum(Object.values(three)) / 3, 1);

      // Reported as a target with its figure, never enforced.
      const target = report.targets.find((t) => t.name.startsWith("3 renditions against 1"));
      expect(target?.measured).toContain(
        `per-image median ${renditions.perImageRatio.cpuP50.toFixed(2)}x over 3 images`,
      );
      if (renditions.perImageRatio.cpuP50 > 1.35) expect(target?.met).toBe(false);
    });
  });

  it("prints the 3-against-1 table and target in the human report", async () => {
    const { stdout } = await run(
      process.execPath,
      [bench, "--quick", "--dir", dir, "--only", "engine"],
      { cwd: root, maxBuffer: 16 << 20, timeout: 50_000 },
    );

    expect(stdout).toContain("3 renditions from one decode (engine-3-renditions)");
    expect(stdout).toContain(`the 3: ${JSON.stringify(PRODUCT_RENDITIONS)}`);
    expect(stdout).toMatch(/^ {2}all +3 +[\d.]+ .* [\d.]+ +[\d.]+$/m);
    expect(stdout).toMatch(/(MET|MISSED) +3 renditions against 1, same images/);
    expect(stdout).toMatch(/^npm run bench, .* \(\d+ CPUs, load [\d.]+ [\d.]+ [\d.]+\)/m);
  });

  describe("the HEIC class against vipsthumbnail (--compare)", () => {
    // iPhone-structured (a grid, Display P3, thumbnail items, turned a quarter), and 12 MP.
    const FILES: HeicFixture[] = ["iphone-grid-1024x768-p3-thumbs-irot90", "green-4000x3000"];
    let heicDir: string;
    const benchHeic = async (path: string) => {
      const args = ["--quick", "--json", "--compare", "--only", "engine", "--dir", heicDir];
      const env = { ...process.env, PATH: path };
      const options = { cwd: root, env, maxBuffer: 16 << 20, timeout: 170_000 };
      return JSON.parse((await run(process.execPath, [bench, ...args], options)).stdout) as Report;
    };
    const target = (report: Report, start: string) =>
      report.targets.find((t) => t.name.startsWith(start));

    beforeAll(async () => {
      heicDir = await mkdtemp(join(tmpdir(), "bench-heic-"));
      for (const name of FILES)
        await writeFile(join(heicDir, `${name}.heic`), await heicFixture(name));
    });

    afterAll(async () => {
      if (heicDir) await rm(heicDir, { recursive: true, force: true });
    });

    it("times vipsthumbnail on HEIC and gives the class its ratio and targets", async () => {
      // A stand-in that records its calls and, like Debian's, reads no HEIC under a VIPSHOME
      // that is not its own (its HEIF loader is a module it looks for there).
      const bin = join(heicDir, "bin");
      await run("mkdir", [bin]);
      const standIn = [
        "#!/bin/sh",
        `echo "$*" >> "${bin}/calls"`,
        'if [ "$1" = --vips-version ]; then echo "libvips 8.14.1"; exit 0; fi',
        'if [ -n "$VIPSHOME" ]; then echo "VipsForeignLoad: not a known file format" >&2; exit 1; fi',
        "sleep 0.2",
      ];
      await writeFile(join(bin, "vipsthumbnail"), `${standIn.join("\n")}\n`, { mode: 0o755 });

      const report = await benchHeic(`${bin}${delimiter}${process.env.PATH}`);

      expect(report.corpus.classes).toEqual({ heic: 2 });
      const runner = (name: string) => report.engine.runners.find((r) => r.name === name);
      expect(runner("vipsthumbnail")?.unsupported).toEqual({});
      const calls = await readFile(join(bin, "calls"), "utf8");
      for (const name of FILES) expect(calls).toContain(join(heicDir, `${name}.heic`));
      for (const group of ["heic <5MP", "heic >=5MP"]) {
        const ours = runner("engine")?.groups.find((g) => g.group === group);
        const theirs = runner("vipsthumbnail")?.groups.find((g) => g.group === group);
        expect(theirs).toMatchObject({ images: 1 });
        const row = report.ratios?.find((r) => r.group === group);
        expect(row).toMatchObject({ best: "vipsthumbnail", ours: ours?.imagesPerSec });
        expect(row?.ratio).toBeCloseTo((ours?.imagesPerSec ?? 0) / (theirs?.imagesPerSec ?? 1), 1);
      }
      const versus = target(report, "iPhone-structured 12 MP HEIC -> default thumbnail");
      const large = report.ratios?.find((r) => r.group === "heic >=5MP");
      expect(versus?.measured).toContain(`${large?.ratio.toFixed(2)}x`);
      expect(versus?.met).toBe((large?.ratio ?? 0) >= 1);

      // The thumbnail item (320x240 of the grid) against the primary, both turned to portrait.
      const [grid, green] = FILES.map((name) =>
        report.heicItems?.rows.find((r) => r.image === `${name}.heic`),
      );
      expect(grid).toMatchObject({ size: "192x256", primarySize: "192x256", sameSize: true });
      expect(grid?.orientation).toBe("portrait");
      for (const mad of grid?.mad ?? []) expect(mad).toBeGreaterThan(0);
      for (const mad of grid?.mad ?? []) expect(mad).toBeLessThan(12);
      // No thumbnail item: both paths decode the primary, so the same pixels.
      expect(green).toMatchObject({ size: "256x192", sameSize: true, mad: [0, 0, 0] });
      expect(target(report, "same, from the thumbnail item")).toMatchObject({
        measured: expect.stringContaining("worst channel 0/255 over 1; sizes 256x192"),
        met: true,
      });
    }, 180_000);

    it("says so when vipsthumbnail is missing, and leaves HEIC without a ratio", async () => {
      const report = await benchHeic(join(heicDir, "no-tools"));

      expect(report.notes.join("\n")).toMatch(/vipsthumbnail not run: .*ENOENT/);
      expect(report.ratios?.filter((r) => r.group.startsWith("heic"))).toEqual([]);
      expect(target(report, "iPhone-structured 12 MP HEIC")).toMatchObject({
        measured: "not compared (run with --compare; needs vipsthumbnail)",
      });
      expect(report.heicItems?.rows).toHaveLength(2);
    }, 180_000);
  });
});
