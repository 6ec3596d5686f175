/** The --json document, the human tables and the targets (met/missed, never enforced). */
import { cpus, loadavg } from "node:os";
import Table from "cli-table3";
import sharp from "sharp";
import { sum } from "simple-statistics";
import type { ColdStartResult } from "./cold-start";
import type { Corpus } from "./corpus";
import type { EndToEndResult } from "./end-to-end";
import type { EngineResult } from "./engine";
import type { HeicItemResult } from "./heic-items";
import { PRODUCT_RENDITIONS } from "./product-renditions";
import { percentile, round } from "./stats";

export interface BenchReport {
  environment: ReturnType<typeof environment>;
  corpus: ReturnType<typeof corpusSummary>;
  notes: string[];
  engine?: EngineResult;
  /** Per group: our images/s over the fastest comparator's (Pillow, vipsthumbnail). */
  ratios?: ReturnType<typeof ratios>;
  /** The engine making 3 renditions against 1, on the same images. */
  renditions?: ReturnType<typeof renditionCosts>;
  /** Each HEIC's default thumbnail from its thumbnail item against from its primary. */
  heicItems?: HeicItemResult;
  coldStart?: ColdStartResult;
  endToEnd?: EndToEndResult;
  targets: Target[];
}

export const [ONE, THREE] = ["engine", "engine-3-renditions"] as const;

/** The comparators a target calls peers (plain sharp is the reference, not a peer). */
const PEERS = ["pillow", "vipsthumbnail"];

/** Issue 20's goals, each a row of docs/performance.md's targets. */
const GOALS = {
  /** Our images/s over the fastest peer's, JPEG under 5 MP (Pillow with draft). */
  smallJpeg: 1.0,
  /** Our time over the fastest peer's on every image both made (time ratio, theirs/ours). */
  overall: 1.2,
  /** 3 renditions' CPU time over 1's: JPEG under 5 MP, and the median per image. */
  renditionsSmallJpeg: 2.0,
  renditionsMedian: 1.35,
  /** Ready p50 over the plain sharp + S3 client's. */
  coldStart: 0.8,
  peakRssMb: 200,
  /** A HEIC thumbnail from the thumbnail item, mean absolute difference (of 255) per channel
   * from the one from the primary image. */
  heicMad: 12,
};

export function environment(threads: number, quick: boolean) {
  const library = `sharp.concurrency(${threads}), UV_THREADPOOL_SIZE=${threads}`;
  return {
    date: new Date().toISOString(),
    machine: cpus()[0]?.model.trim() ?? "unknown CPU",
    cpus: cpus().length,
    loadAverage: loadavg().map((load) => round(load, 2)),
    node: process.versions.node,
    sharp: sharp.versions.sharp ?? "?",
    libvips: sharp.versions.vips,
    threads: threads === 0 ? "library default threads" : `engine threads ${threads} (${library})`,
    quick,
  };
}

export function corpusSummary({ source, images }: Corpus) {
  const classes: Record<string, number> = {};
  for (const image of images) classes[image.cls] = (classes[image.cls] ?? 0) + 1;
  const megapixels = round(sum(images.map((image) => image.megapixels)), 1);
  return { source, images: images.length, megapixels, classes };
}

type Group = EngineResult["runners"][number]["groups"][number];
/** `runner`'s row for `a`'s group when it made the same images without an error. */
function sameGroup(a: Group, runner: EngineResult["runners"][number] | undefined) {
  const b = runner?.groups.find((g) => g.group === a.group);
  const complete = b && b.images === a.images && a.images > 0;
  return complete && a.errors.length === 0 && b.errors.length === 0 ? b : undefined;
}

export function ratios({ runners }: EngineResult) {
  const comparators = runners.filter((r) => PEERS.includes(r.name));
  return (runners.find((r) => r.name === ONE)?.groups ?? []).flatMap((ours) => {
    const fastest = comparators
      .map((runner) => ({ name: runner.name, theirs: sameGroup(ours, runner) }))
      .filter(({ theirs }) => theirs && theirs.imagesPerSec > 0 && theirs.imagesPerSec < Infinity)
      .sort((a, b) => (b.theirs?.imagesPerSec ?? 0) - (a.theirs?.imagesPerSec ?? 0))[0];
    const theirs = fastest?.theirs;
    if (!fastest || !theirs) return [];
    return {
      group: ours.group,
      ours: ours.imagesPerSec,
      best: fastest.name,
      bestImagesPerSec: theirs.imagesPerSec,
      ratio: round(ours.imagesPerSec / theirs.imagesPerSec, 2),
      /** The same comparison on CPU time (all threads): steadier when the machine is busy. */
      cpuRatio: round(theirs.cpuMs / ours.cpuMs, 2),
    };
  });
}

export function renditionCosts({ runners }: EngineResult) {
  const [one, three] = [ONE, THREE].map((name) => runners.find((r) => r.name === name));

  const groups = (one?.groups ?? []).flatMap((a) => {
    const b = sameGroup(a, three);
    // p50/p95 over every sample; mean of the best-of-rounds times; ratio of the means.
    return b
      ? {
          group: a.group,
          images: a.images,
          oneP50Ms: a.p50Ms,
          oneP95Ms: a.p95Ms,
          threeP50Ms: b.p50Ms,
          threeP95Ms: b.p95Ms,
          oneMeanMs: round(a.totalMs / a.images, 2),
          threeMeanMs: round(b.totalMs / b.images, 2),
          ratio: round(b.totalMs / a.totalMs, 2),
          cpuRatio: round(b.cpuMs / a.cpuMs, 2),
        }
      : [];
  });
  // Each image's best time with 3 over its time with 1 (the target's figure: every image counts
  // once, whatever its size), over the images both made; and the same on CPU time.
  const wall = imageRatios(one?.bestMs, three?.bestMs);
  const cpu = imageRatios(one?.bestCpuMs, three?.bestCpuMs).map((r) => r.ratio);
  const ratios = wall.map((r) => r.ratio);
  const perImageRatio = {
    images: wall.length,
    p50: round(percentile(ratios, 50), 2),
    min: round(ratios[0] ?? Number.NaN, 2),
    max: round(ratios.at(-1) ?? Number.NaN, 2),
    lowest: wall[0]?.image ?? "-",
    highest: wall.at(-1)?.image ?? "-",
    cpuP50: round(percentile(cpu, 50), 2),
    cpuMin: round(cpu[0] ?? Number.NaN, 2),
    cpuMax: round(cpu.at(-1) ?? Number.NaN, 2),
  };
  return { list: JSON.stringify(PRODUCT_RENDITIONS), groups, perImageRatio };
}

/** Per image both made: b's figure over a's, lowest first. */
function imageRatios(a: Record<string, number> = {}, b: Record<string, number> = {}) {
  return Object.entries(a)
    .map(([image, value]) => ({ image, ratio: (b[image] ?? Number.NaN) / value }))
    .filter((r) => Number.isFinite(r.ratio))
    .sort((x, y) => x.ratio - y.ratio);
}

/** A target; without a result, not measured in this run; with an undefined verdict, measured
 * only in part (the text says what is missing). */
function target(
  name: string,
  goal: string,
  result?: [string, boolean | undefined],
  missing = "not measured",
) {
  return { name, goal, measured: result?.[0] ?? missing, met: result?.[1] };
}
export type Target = ReturnType<typeof target>;
const x = (ratio: number) => `${ratio.toFixed(2)}x`;

export function targets(report: Omit<BenchReport, "targets">): Target[] {
  const peak = report.engine?.runners.find((r) => r.name === ONE)?.peakRssMb;
  const e2e = report.endToEnd;
  return [
    throughputTarget(report.ratios ?? []),
    smallJpegTarget(report.ratios ?? []),
    overallTarget(report.engine),
    ...heicTargets(report),
    renditionsTarget(report.renditions),
    coldStartTarget(report.coldStart),
    target(
      "local pipeline overhead, 12 MP JPEG (p50)",
      "<= 20 ms beyond engine time",
      e2e && Number.isFinite(e2e.overheadP50Ms)
        ? [
            `${e2e.overheadP50Ms} ms from PUT start (PUT->visible p50 ${e2e.latencyP50Ms} ms, ` +
              `engine ${e2e.engineMs} ms); ${e2e.overheadAfterPutP50Ms} ms from PUT acknowledged`,
            e2e.overheadP50Ms <= 20,
          ]
        : undefined,
    ),
    target(
      "engine peak RSS over the corpus",
      `<= ${GOALS.peakRssMb} MB`,
      peak === undefined ? undefined : [`${peak} MB`, peak <= GOALS.peakRssMb],
    ),
  ];
}

const NOT_COMPARED = "not compared (run with --compare)";

function smallJpegTarget(compared: NonNullable<BenchReport["ratios"]>) {
  const row = compared.find((r) => r.group === "jpeg <5MP");
  return target(
    "JPEG under 5 MP against the fastest peer (Pillow with draft)",
    `>= ${x(GOALS.smallJpeg)} (images/s)`,
    row && [
      `${x(row.ratio)} vs ${row.best} (${row.ours} vs ${row.bestImagesPerSec} img/s; ` +
        `cpu-time ${x(row.cpuRatio)})`,
      row.ratio >= GOALS.smallJpeg,
    ],
    NOT_COMPARED,
  );
}

/** Per peer, on every image both made: the peer's summed best times over ours (wall and CPU);
 * the target is against the peer we lead least. */
export function overallRatios(engine: EngineResult | undefined) {
  const ours = engine?.runners.find((r) => r.name === ONE);
  return (engine?.runners ?? [])
    .filter((r) => PEERS.includes(r.name))
    .flatMap((peer) => {
      const images = Object.keys(peer.bestMs).filter((name) => ours?.bestMs[name] !== undefined);
      const total = (times: Record<string, number> = {}) =>
        sum(images.map((name) => times[name] ?? Number.NaN));
      if (!ours || images.length === 0) return [];
      return {
        peer: peer.name,
        images: images.length,
        ratio: round(total(peer.bestMs) / total(ours.bestMs), 2),
        cpuRatio: round(total(peer.bestCpuMs) / total(ours.bestCpuMs), 2),
      };
    })
    .sort((a, b) => a.ratio - b.ratio);
}

function overallTarget(engine: EngineResult | undefined) {
  const rows = overallRatios(engine);
  const fastest = rows[0];
  return target(
    "overall against the fastest peer (every image both made, summed best times)",
    `>= ${x(GOALS.overall)}`,
    fastest && [
      rows
        .map(
          (r) => `${x(r.ratio)} vs ${r.peer} over ${r.images} images (cpu-time ${x(r.cpuRatio)})`,
        )
        .join("; "),
      fastest.ratio >= GOALS.overall,
    ],
    NOT_COMPARED,
  );
}

function renditionsTarget(renditions: BenchReport["renditions"]) {
  const { perImageRatio: each, groups } = renditions ?? {};
  const small = groups?.find((r) => r.group === "jpeg <5MP");
  const all = groups?.find((r) => r.group === "all");
  return target(
    "3 renditions against 1, same images (cpu time)",
    `<= ${x(GOALS.renditionsSmallJpeg)} for JPEG under 5 MP, per-image median ` +
      `<= ${x(GOALS.renditionsMedian)}`,
    each?.images
      ? [
          (small
            ? `JPEG <5MP ${x(small.cpuRatio)} (wall ${x(small.ratio)}); `
            : "JPEG <5MP not compared (no such images, or an error in either run); ") +
            `per-image median ${x(each.cpuP50)} over ${each.images} images (${x(each.cpuMin)} ` +
            `to ${x(each.cpuMax)}; wall ${x(each.p50)}, ${x(each.min)} ${each.lowest} to ` +
            `${x(each.max)} ${each.highest})` +
            (all ? `; all images' cpu-time ${x(all.cpuRatio)}` : ""),
          small &&
            small.cpuRatio <= GOALS.renditionsSmallJpeg &&
            each.cpuP50 <= GOALS.renditionsMedian,
        ]
      : undefined,
  );
}

function throughputTarget(compared: NonNullable<BenchReport["ratios"]>) {
  const perClass = compared.filter((r) => r.group !== "all");
  const slower = perClass.filter((r) => r.ratio < 1);
  const lowest = [...perClass].sort((a, b) => a.ratio - b.ratio)[0];
  const below = slower.map((r) => `${r.group} ${x(r.ratio)} vs ${r.best}`).join(", ");
  return target(
    "engine throughput per format class",
    ">= fastest of Pillow-with-draft and vipsthumbnail (ratio >= 1.00)",
    lowest && [
      slower.length > 0
        ? `below 1.00: ${below}`
        : `all ${perClass.length} groups >= 1.00 (lowest ${lowest.group} ${x(lowest.ratio)})`,
      slower.length === 0,
    ],
    NOT_COMPARED,
  );
}

/** The HEICs of 5 MP or more (an iPhone's 12): against vipsthumbnail, and from the thumbnail
 * item against from the primary (a difference of NaN, so missed, when their sizes differ). */
function heicTargets({ engine, heicItems }: Omit<BenchReport, "targets">): Target[] {
  const runner = (name: string) => engine?.runners.find((r) => r.name === name);
  const ours = runner(ONE)?.groups.find((g) => g.group === "heic >=5MP");
  const theirs = ours && sameGroup(ours, runner("vipsthumbnail"));
  const large = heicItems?.rows.filter((row) => row.megapixels >= 5) ?? [];
  const worst = Math.max(...large.flatMap((row) => row.mad));
  const sizes = large.map((r) => (r.sameSize ? r.size : `${r.size} vs ${r.primarySize}`));
  const none = "no HEIC of 5 MP or more";
  return [
    target(
      "iPhone-structured 12 MP HEIC -> default thumbnail, ours vs vipsthumbnail",
      ">= 1.00x (images/s)",
      ours &&
        theirs && [
          `${x(ours.imagesPerSec / theirs.imagesPerSec)} (${ours.imagesPerSec} vs ` +
            `${theirs.imagesPerSec} img/s; cpu-time ${x(theirs.cpuMs / ours.cpuMs)})`,
          ours.imagesPerSec >= theirs.imagesPerSec,
        ],
      ours ? "not compared (run with --compare; needs vipsthumbnail)" : none,
    ),
    target(
      "same, from the thumbnail item against from the primary (HEIC_THUMBNAILS off)",
      `mean absolute difference <= ${GOALS.heicMad}/255 per channel, same size and orientation`,
      large.length > 0
        ? [
            `worst channel ${worst}/255 over ${large.length}; sizes ${sizes.join(", ")}`,
            worst <= GOALS.heicMad,
          ]
        : undefined,
      none,
    ),
  ];
}

function coldStartTarget(coldStart: ColdStartResult | undefined) {
  const variant = (name: string) => coldStart?.variants.find((v) => v.name === name);
  // What ships is the image's bundle with its compile cache (Node >= 22.1, as Lambda's 24 is):
  // the verdict is its alone; the compiled handler and the bare bundle are shown beside it.
  const shipped = variant("bundle + compile cache");
  const shown = [variant("handler"), variant("bundle"), shipped].flatMap((v) =>
    v && Number.isFinite(v.readyP50Ms) ? [v] : [],
  );
  const plain = variant("plain sharp + S3 client")?.readyP50Ms ?? Number.NaN;
  const each = shown.map((v) => `${v.name} ${v.readyP50Ms} ms (${x(v.readyP50Ms / plain)})`);
  const measured = shipped && shown.includes(shipped);
  return target(
    "handler cold start to ready against the plain sharp + S3 client (p50)",
    `<= ${x(GOALS.coldStart)} (the bundle with its compile cache, as the image ships it)`,
    shown.length > 0 && Number.isFinite(plain)
      ? [
          `${each.join(", ")}; the plain one ${plain} ms` +
            (measured ? "" : "; the shipped variant needs Node >= 22.1 (--node <Node 24>)"),
          measured ? shipped.readyP50Ms / plain <= GOALS.coldStart : undefined,
        ]
      : undefined,
  );
}

export function formatReport(report: BenchReport): string {
  const { environment: env, corpus: c } = report;
  const classes = Object.entries(c.classes).map(([k, v]) => `${k} ${v}`);
  return [
    `npm run bench, ${env.date}: ${env.machine} (${env.cpus} CPUs, load ${env.loadAverage.join(" ")}), node ${env.node}, ` +
      `sharp ${env.sharp} (libvips ${env.libvips}), ${env.threads}${env.quick ? ", --quick" : ""}`,
    `corpus: ${c.source}: ${c.images} images, ${c.megapixels} MP (${classes.join(", ")})`,
    ...engineLines(report),
    ...pipelineLines(report),
    "\nTargets (reported, not enforced)",
    ...report.targets.flatMap((t) => [
      `  ${t.met === undefined ? "  -   " : t.met ? "MET   " : "MISSED"} ${t.name}: goal ${t.goal}`,
      `         measured: ${t.measured}`,
    ]),
    ...(report.notes.length > 0 ? ["\nNotes", ...report.notes.map((note) => `  ${note}`)] : []),
  ].join("\n");
}

function engineLines({ engine, ratios, renditions, heicItems }: BenchReport): string[] {
  const out = engine
    ? [`\nEngine (one process per thumbnailer, best of ${engine.rounds} rounds per image)`]
    : [];
  for (const runner of engine?.runners ?? []) {
    const settings = Object.entries(runner.settings).map(([k, v]) => `${k}=${v}`);
    out.push(
      `\n${runner.name}: ${settings.join(", ")}; peak RSS ${runner.peakRssMb ?? "?"} MB`,
      ...table(
        runner.groups,
        "group|images|MP=megapixels|img/s=imagesPerSec|MP/s=megapixelsPerSec|p50 ms=p50Ms|" +
          "p95 ms=p95Ms|cpu ms=cpuMs|RSS after MB=rssHighWaterMb",
      ),
      ...Object.entries(runner.unsupported).map(([cls, why]) => `  ${cls}: not supported (${why})`),
      ...runner.groups
        .filter((g) => g.group !== "all")
        .flatMap((g) => g.errors.map((error) => `  error: ${error}`)),
    );
  }
  if (ratios && ratios.length > 0) {
    out.push(
      "\nOurs vs the fastest comparator (images/s ratio, >= 1.00 means we are faster)",
      ...table(
        ratios,
        "group|engine img/s=ours|fastest other=best|its img/s=bestImagesPerSec|ratio|" +
          "cpu-time ratio=cpuRatio",
      ),
    );
  }
  if (heicItems && heicItems.rows.length > 0) {
    out.push(
      "\nHEIC default thumbnail from the thumbnail item against from the primary " +
        "(HEIC_THUMBNAILS off); mean absolute difference per channel, of 255",
      ...table(
        heicItems.rows.map((row) => ({ ...row, mad: row.mad.join(" ") })),
        "image|size|primary size=primarySize|orientation|R G B=mad|item ms=itemMs|primary ms=primaryMs",
      ),
    );
  }
  if (renditions && renditions.groups.length > 0) {
    out.push(
      `\n3 renditions from one decode (${THREE}) against 1 (${ONE}: the default 256x256 ` +
        `inside JPEG), same images; ratio = 3's mean / 1's mean`,
      `  the 3: ${renditions.list}`,
      ...table(
        renditions.groups,
        "group|images|1: p50 ms=oneP50Ms|p95 ms=oneP95Ms|mean ms=oneMeanMs|3: p50 ms=threeP50Ms|" +
          "p95 ms=threeP95Ms|mean ms=threeMeanMs|ratio|cpu-time ratio=cpuRatio",
      ),
    );
  }
  return out;
}

function pipelineLines({ coldStart: cs, endToEnd: e }: BenchReport): string[] {
  const out: string[] = [];
  if (cs) {
    out.push(
      `\nCold start (${cs.processes} fresh processes each; first thumbnail: ${cs.image})`,
      ...table(
        cs.variants,
        "variant=name|ready p50 ms=readyP50Ms|ready max ms=readyMaxMs|ready cpu ms=readyCpuP50Ms|" +
          "1st thumb p50 ms=firstP50Ms|max ms=firstMaxMs",
      ),
      ...cs.notes.map((note) => `  note: ${note}`),
    );
  }
  if (e) {
    out.push(
      `\nEnd to end through the local service (${e.image}, ` +
        `service concurrency ${e.serviceConcurrency})`,
      ...table(
        [{ ...e, label: "" }],
        "one upload at a time=label|PUT->thumb p50 ms=latencyP50Ms|p95 ms=latencyP95Ms|" +
          "PUT alone ms=putP50Ms|engine ms=engineMs|overhead p50 ms=overheadP50Ms|" +
          "after PUT ack ms=overheadAfterPutP50Ms",
      ),
      ...table(
        [e],
        "uploads at once=uploads|all visible s=totalSeconds|thumbs/s=throughput|" +
          "PUT->thumb p50 ms=burstLatencyP50Ms|p95 ms=burstLatencyP95Ms",
      ),
    );
  }
  return out;
}

/** `columns`: "header=field" (or "field") separated by "|"; non-finite numbers (NaN is null after
 * a JSON round trip) show "-". */
function table(items: readonly object[], columns: string): string[] {
  const pairs = columns.split("|").map((column) => column.split("="));
  const border = "top top-mid top-left top-right bottom bottom-mid bottom-left bottom-right";
  const rules = `${border} left-mid mid mid-mid right right-mid`.split(" ");
  const out = new Table({
    head: pairs.map(([head]) => head ?? ""),
    chars: { ...Object.fromEntries(rules.map((part) => [part, ""])), left: "  ", middle: "  " },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
    colAligns: pairs.map((_, i) => (i === 0 ? "left" : "right")),
  });
  for (const item of items as Record<string, unknown>[]) {
    out.push(
      pairs.map(([head = "", key = head]) => {
        const value = item[key];
        if (typeof value === "string") return value;
        if (typeof value !== "number" || !Number.isFinite(value)) return "-";
        return /ratio$/i.test(key) ? value.toFixed(2) : String(value);
      }),
    );
  }
  return out.toString().split("\n");
}
