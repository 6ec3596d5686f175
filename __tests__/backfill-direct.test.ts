/**
 * `thumbnailer backfill --direct` end to end (integration: the built CLI in a child process,
 * against a real s3rver on a free port, real sharp): exact counts over 100 objects, exit codes,
 * a second run that makes nothing, and Ctrl+C (SIGINT) then --resume with nothing made twice.
 * Each bucket lists in one page (s3rver's pages hold 1,000), so more objects would prove no more;
 * listing page by page is local-store-listing.test.ts's.
 * Then, in process (the CLI's run() on a few objects each): failed writes, fatal outcomes,
 * --dry-run, --concurrency, --resume's scope, failure tags, and the checks before listing.
 */

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { run } from "../cli/backfill";
import { writeCheckpoint } from "../cli/backfill/checkpoint";
import { runDirect } from "../cli/backfill/direct";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import { forEachLimited } from "../handler/bounded";
import { readConfig } from "../handler/config";
import { configureSharp } from "../handler/engine";
import { FAILURE_TAGS } from "../handler/failure-record";
import { destinationKey } from "../handler/keys";
import { buildDist, CLI } from "./support/build-dist";
import { serviceError } from "./support/fake-s3";
import { describeImage, jpeg, truncatedJpeg } from "./support/handler-images";
import { type SynthedInfra, synthInfra } from "./support/infra";
import { get, listKeys, localClient, put } from "./support/local-s3";
import { runCli } from "./support/run-cli";
import { startTestS3, type TestS3 } from "./support/s3rver";

jest.setTimeout(900_000);

const SPEC = "256x256-inside-q80.jpeg";
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_REGION: "us-east-1",
};

/** Keys that are awkward in URLs, events and listings. */
const AWKWARD = [
  "my photo.jpg",
  "a+b.jpg",
  "100% done.jpg",
  "été/写真.jpg",
  "deep/er/nest ed/x.jpg",
];

interface Line {
  key: string;
  outcome: string;
  code?: string;
}

const parseLines = (stdout: string): Line[] =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Line);

describe("thumbnailer backfill --direct (integration: real s3rver, built CLI)", () => {
  let local: TestS3;
  let work: string;

  beforeAll(async () => {
    buildDist();
    local = await startTestS3([
      "source",
      "thumbnails",
      "source-2",
      "thumbnails-2",
      "source-3",
      "thumbnails-3",
    ]);
    work = await mkdtemp(path.join(tmpdir(), "thumbnailer-backfill-"));
  });

  afterAll(async () => {
    await local.close();
    await rm(work, { recursive: true, force: true });
  });

  const args = (source: string, dest: string, ...more: string[]) => [
    "backfill",
    "--direct",
    "--endpoint",
    local.endpoint,
    "--source-bucket",
    source,
    "--dest-bucket",
    dest,
    "--checkpoint",
    path.join(work, `${source}.checkpoint.json`),
    ...more,
  ];

  it("catches up 100 objects (some bad, some done, awkward keys) with exact counts; a second run makes nothing", async () => {
    // Arrange: 80 images to make (5 with awkward keys), 10 bad ones, 10 already up to date
    const good = [await jpeg(64, 48, "#204080"), await jpeg(48, 64, "#802040")];
    const bad = await truncatedJpeg();
    const objects: { key: string; body: Buffer; state: "make" | "bad" | "done" }[] = [];
    for (let i = 0; i < 100; i++) {
      const awkward = AWKWARD[i];
      if (awkward !== undefined)
        objects.push({ key: awkward, body: good[0] as Buffer, state: "make" });
      else if (i % 10 === 5)
        objects.push({ key: `bad/${String(i).padStart(4, "0")}.jpg`, body: bad, state: "bad" });
      else if (i % 10 === 7)
        objects.push({
          key: `done/${String(i).padStart(4, "0")}.jpg`,
          body: good[1] as Buffer,
          state: "done",
        });
      else
        objects.push({
          key: `photos/${String(i).padStart(4, "0")}.jpg`,
          body: good[i % 2] as Buffer,
          state: "make",
        });
    }
    const count = (state: string) => objects.filter((o) => o.state === state).length;
    expect([count("make"), count("bad"), count("done")]).toEqual([80, 10, 10]);
    await forEachLimited(objects, 16, async (object) => {
      const eTag = await put(local.s3, "source", object.key, object.body);
      if (object.state !== "done") return;
      await local.s3.send(
        new PutObjectCommand({
          Bucket: "thumbnails",
          Key: object.key,
          Body: "kept",
          Metadata: {
            "source-bucket": "source",
            "source-key": encodeURIComponent(object.key),
            "source-etag": eTag,
            "thumbnail-spec": SPEC,
          },
        }),
      );
    });

    // Act
    const first = await runCli(args("source", "thumbnails", "--json", "--concurrency", "8"), {
      env,
      timeoutMs: 600_000,
    });
    const second = await runCli(args("source", "thumbnails", "--json"), {
      env,
      timeoutMs: 600_000,
    });

    // Assert: the first run made the 80, skipped the 10 done, failed the 10 bad (exit 1)
    expect(first.stderr).toContain("100 seen, 80 made, 10 skipped (up to date), 10 failed");
    expect(first.code).toBe(1);
    const lines = parseLines(first.stdout);
    expect(lines.filter((l) => l.outcome === "created")).toHaveLength(80);
    expect(lines.filter((l) => l.outcome === "failed").map((l) => l.code)).toEqual(
      Array(10).fill("CORRUPT_INPUT"),
    );
    expect(first.stderr).toMatch(/failed s3:\/\/source\/bad\/\d{4}\.jpg: CORRUPT_INPUT /);
    const made = (await listKeys(local.s3, "thumbnails")).sort();
    expect(made).toEqual(
      objects
        .filter((o) => o.state !== "bad")
        .map((o) => o.key)
        .sort(),
    );
    for (const key of AWKWARD) {
      expect((await get(local.s3, "thumbnails", key))?.metadata["source-key"]).toBe(
        encodeURIComponent(key),
      );
    }
    const kept = await get(
      local.s3,
      "thumbnails",
      objects.find((o) => o.state === "done")?.key ?? "",
    );
    expect(Buffer.from(kept?.data ?? []).toString()).toBe("kept");
    // The second run makes nothing; the bad ones are still reported (not decoded again)
    expect(second.stderr).toContain("100 seen, 0 made, 90 skipped (up to date), 10 failed");
    expect(second.code).toBe(1);
    expect(parseLines(second.stdout).filter((l) => l.outcome === "created")).toEqual([]);
    // A finished run leaves no checkpoint behind
    await expect(readFile(path.join(work, "source.checkpoint.json"))).rejects.toThrow();
  });

  it("stops cleanly on Ctrl+C with a checkpoint; --resume finishes with nothing made twice", async () => {
    const image = await jpeg(64, 48);
    const keys = Array.from({ length: 400 }, (_, i) => `p/${String(i).padStart(3, "0")} ü.jpg`);
    await forEachLimited(keys, 16, (key) =>
      put(local.s3, "source-2", key, image).then(() => undefined),
    );

    // Act: interrupt once 40 objects are made
    const first = await interruptAfter(
      args("source-2", "thumbnails-2", "--json", "--concurrency", "4"),
      40,
    );
    const checkpoint = JSON.parse(
      await readFile(path.join(work, "source-2.checkpoint.json"), "utf8"),
    ) as { after: string };
    const second = await runCli(args("source-2", "thumbnails-2", "--json", "--resume"), {
      env,
      timeoutMs: 600_000,
    });

    // Assert: interrupted with 130, then done with 0; every key made exactly once over both runs
    expect(first.code).toBe(130);
    expect(first.stderr).toContain("run the same command with --resume to continue");
    expect(second.code).toBe(0);
    const firstMade = parseLines(first.stdout)
      .filter((l) => l.outcome === "created")
      .map((l) => l.key);
    const secondMade = parseLines(second.stdout)
      .filter((l) => l.outcome === "created")
      .map((l) => l.key);
    expect(firstMade.length).toBeGreaterThanOrEqual(40);
    expect(firstMade.length).toBeLessThan(400);
    expect([...firstMade, ...secondMade].sort()).toEqual([...keys].sort());
    // The checkpoint is the last key of the first run's contiguous done range, in listing order
    expect(checkpoint.after).toBe([...firstMade].sort().at(-1));
    expect(second.stderr).toContain(
      `${400 - firstMade.length} seen, ${400 - firstMade.length} made`,
    );
    expect((await listKeys(local.s3, "thumbnails-2")).sort()).toEqual([...keys].sort());
  });

  it("--renditions @FILE: makes every rendition, then only the one missing; the others' objects untouched", async () => {
    const renditions = [
      { name: "small", width: 256, height: 256, fit: "inside", format: "jpeg" },
      { name: "square", width: 200, height: 200, fit: "cover", format: "webp" },
      { name: "card", width: 120, height: 63, fit: "cover", format: "png", prefix: "social/" },
    ];
    const prefixes = ["small/", "square/", "social/"];
    const file = path.join(work, "renditions.json");
    await writeFile(file, JSON.stringify(renditions));
    const keys = ["a.jpg", "été/my photo.jpg", "c.jpg"];
    for (const key of keys) await put(local.s3, "source-3", key, await jpeg(300, 200));
    const cli = (...more: string[]) =>
      runCli(args("source-3", "thumbnails-3", "--renditions", `@${file}`, "--json", ...more), {
        env,
      });

    const first = await cli();
    // One rendition of one object missing; its other two replaced by bodies the CLI never writes.
    const key = "été/my photo.jpg";
    await local.s3.send(new DeleteObjectCommand({ Bucket: "thumbnails-3", Key: `square/${key}` }));
    const kept: Record<string, string | undefined> = {};
    for (const prefix of ["small/", "social/"]) {
      const made = await get(local.s3, "thumbnails-3", prefix + key);
      const written = await local.s3.send(
        new PutObjectCommand({
          Bucket: "thumbnails-3",
          Key: prefix + key,
          Body: "kept",
          Metadata: made?.metadata,
        }),
      );
      kept[prefix] = written.ETag;
    }
    const second = await cli();
    const third = await cli();

    expect(first.code).toBe(0);
    expect(parseLines(first.stdout).map((line) => [line.key, line.outcome])).toEqual(
      expect.arrayContaining(keys.map((k) => [k, "created"])),
    );
    expect(second.code).toBe(0);
    expect(parseLines(second.stdout).map((line) => [line.key, line.outcome])).toEqual([
      [key, "created"],
    ]);
    expect((await listKeys(local.s3, "thumbnails-3")).sort()).toEqual(
      prefixes.flatMap((prefix) => keys.map((k) => prefix + k)).sort(),
    );
    for (const prefix of ["small/", "social/"]) {
      const object = await get(local.s3, "thumbnails-3", prefix + key);
      const head = await local.s3.send(
        new HeadObjectCommand({ Bucket: "thumbnails-3", Key: prefix + key }),
      );
      expect([Buffer.from(object?.data ?? []).toString(), head.ETag]).toEqual([
        "kept",
        kept[prefix],
      ]);
    }
    expect((await get(local.s3, "thumbnails-3", `square/${key}`))?.contentType).toBe("image/webp");
    expect([third.code, parseLines(third.stdout)]).toEqual([0, []]);
  });

  it("refuses an unreadable or invalid --renditions with exit 2, naming the flag", async () => {
    const missingFile = await runCli(
      args("source-3", "thumbnails-3", "--renditions", `@${path.join(work, "nowhere.json")}`),
      { env },
    );
    const invalid = await runCli(
      args("source-3", "thumbnails-3", "--renditions", '[{"name":"x","width":0}]'),
      { env },
    );

    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain("--renditions @");
    expect(missingFile.stderr).toContain("cannot read the file");
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("--renditions");
  });

  it("refuses an unknown flag and a missing bucket with exit 2", async () => {
    const unknown = await runCli(["backfill", "--direct", "--sorce-bucket", "x"], { env });
    const missing = await runCli(["backfill", "--direct", "--dest-bucket", "x"], { env });

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      "Unknown option '--sorce-bucket'; did you mean --source-bucket?",
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--direct needs --source-bucket");
  });

  /** Runs the CLI and sends SIGINT once `lines` JSON lines are out; resolves when it exits. */
  function interruptAfter(
    cliArgs: string[],
    lines: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...cliArgs], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let sent = false;
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!sent && stdout.split("\n").length > lines) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }
});

/**
 * A deployment's project folder, as `backfill --direct` reads it (cdktf.json of `context` and
 * `cdktf synth`'s output of it), beside an s3rver holding `buckets`; `backfill` runs the built
 * CLI there. The fields are set in beforeAll.
 */
function deploymentProject(context: Record<string, unknown>, buckets: string[]) {
  const deployed = {} as { local: TestS3; infra: SynthedInfra; project: string };
  beforeAll(async () => {
    buildDist();
    deployed.local = await startTestS3(buckets);
    deployed.infra = synthInfra(context);
    deployed.project = await mkdtemp(path.join(tmpdir(), "thumbnailer-backfill-project-"));
    const { project } = deployed;
    await writeFile(path.join(project, "cdktf.json"), JSON.stringify({ context }));
    await symlink(deployed.infra.outdir, path.join(project, "cdktf.out"));
  });
  afterAll(async () => {
    await deployed.local.close();
    deployed.infra.cleanup();
    await rm(deployed.project, { recursive: true, force: true });
  });
  const backfill = (source: string, dest: string, ...more: string[]) =>
    runCli(
      [
        "backfill",
        "--direct",
        "--json",
        "--endpoint",
        deployed.local.endpoint,
        "--source-bucket",
        source,
        "--dest-bucket",
        dest,
        "--checkpoint",
        path.join(deployed.project, `${source}.checkpoint.json`),
        ...more,
      ],
      { cwd: deployed.project, env },
    );
  return Object.assign(deployed, { backfill });
}

describe("thumbnailer backfill --direct of a deployment's own buckets (integration: real synth and s3rver, built CLI)", () => {
  // The deployment's bucket names hold the account: any account's buckets are the deployment's.
  const SOURCE = "thumbnailer-source-123456789012-us-east-1";
  const DEST = "thumbnailer-thumbnails-123456789012-us-east-1";
  /** cdktf.json's settings: uploads under "in/" ending ".jpg" trigger; thumbnails under "thumbs/". */
  const CONTEXT = { notificationPrefix: "in/", notificationSuffix: ".jpg", destPrefix: "thumbs/" };
  const deployed = deploymentProject(CONTEXT, [SOURCE, DEST, "source", "thumbnails"]);
  const { backfill } = deployed;

  it("takes the source prefix, suffix and destination prefix from the deployment, without flags", async () => {
    // Arrange: the same JPEG under every name, in the deployment's source bucket and in another one
    const image = await jpeg(64, 48);
    const keys = ["in/a.jpg", "in/b.png", "in/notes.txt", "elsewhere/c.jpg"];
    for (const bucket of [SOURCE, "source"]) {
      for (const key of keys) await put(deployed.local.s3, bucket, key, image);
    }

    // Act
    const deployment = await backfill(SOURCE, DEST);
    const elsewhere = await backfill("source", "thumbnails");

    // Assert: only what an upload triggers, written where the function writes it
    expect(deployment.code).toBe(0);
    expect(parseLines(deployment.stdout).map((l) => [l.key, l.outcome])).toEqual([
      ["in/a.jpg", "created"],
    ]);
    expect(await listKeys(deployed.local.s3, DEST)).toEqual(["thumbs/in/a.jpg"]);
    expect(deployment.stderr).toContain(
      '2 not matched by the deployment\'s filter (keys ending ".jpg")',
    );
    expect(deployment.stderr).toContain(
      `deployment "thumbnailer"'s source ${SOURCE}: prefix "in/", suffix ".jpg"`,
    );
    // Another bucket is no deployment's: no filter, no destination prefix (the flags' defaults)
    expect(elsewhere.code).toBe(0);
    expect((await listKeys(deployed.local.s3, "thumbnails")).sort()).toEqual([...keys].sort());
  });

  it("a flag still wins over the deployment's setting", async () => {
    const result = await backfill(SOURCE, DEST, "--source-suffix", ".png", "--dest-prefix", "p/");

    expect(result.code).toBe(0);
    expect(parseLines(result.stdout).map((l) => [l.key, l.outcome])).toEqual([
      ["in/b.png", "created"],
    ]);
    expect((await listKeys(deployed.local.s3, DEST)).sort()).toEqual([
      "p/in/b.png",
      "thumbs/in/a.jpg",
    ]);
  });
});

describe("thumbnailer backfill --direct of a deployment with renditions (integration: real synth and s3rver, built CLI)", () => {
  const SOURCE = "thumbnailer-source-123456789012-us-east-1";
  const DEST = "thumbnailer-thumbnails-123456789012-us-east-1";
  /** Two renditions (neither the default size nor format), a destination prefix and a Cache-Control. */
  const RENDITIONS = [
    { name: "small", width: 64, height: 64, fit: "inside", format: "webp" },
    { name: "card", width: 200, height: 100, fit: "cover", format: "png", prefix: "cards/" },
  ];
  const CONTEXT = { renditions: RENDITIONS, destPrefix: "thumbs/", cacheControl: "max-age=60" };
  const deployed = deploymentProject(CONTEXT, [SOURCE, DEST, "source", "thumbnails", "copies"]);
  const { backfill } = deployed;
  beforeAll(async () => put(deployed.local.s3, SOURCE, "in/a.jpg", await jpeg(640, 480)));

  /** The handler's own configuration: its readConfig of the synthesized function's environment. */
  const handlerConfig = () => {
    const [fn] = Object.values(
      deployed.infra.stacks.lambda.json.resource?.aws_lambda_function ?? {},
    );
    const { variables } = (fn?.environment ?? {}) as { variables?: Record<string, string> };
    return readConfig({ ...variables, SOURCE_BUCKET: SOURCE, DEST_BUCKET: DEST });
  };

  it("without flags writes exactly what the function writes: its renditions' keys, formats, sizes and Cache-Control", async () => {
    const result = await backfill(SOURCE, DEST);

    expect([result.code, result.stderr]).toEqual([0, expect.any(String)]);
    const config = handlerConfig();
    const expected = config.renditions.map((r) => destinationKey("in/a.jpg", config, r));
    expect(expected.sort()).toEqual(["thumbs/cards/in/a.jpg", "thumbs/small/in/a.jpg"]);
    expect((await listKeys(deployed.local.s3, DEST)).sort()).toEqual(expected);
    const made = [];
    for (const rendition of config.renditions) {
      const key = destinationKey("in/a.jpg", config, rendition);
      const object = await get(deployed.local.s3, DEST, key);
      const head = await deployed.local.s3.send(new HeadObjectCommand({ Bucket: DEST, Key: key }));
      const { width, height, format } = await describeImage(object?.data ?? new Uint8Array());
      made.push([rendition.name, format, width, height, object?.contentType, head.CacheControl]);
    }
    expect(made).toEqual([
      ["small", "webp", 64, 48, "image/webp", "max-age=60"],
      ["card", "png", 200, 100, "image/png", "max-age=60"],
    ]);
  });

  it("refuses a thumbnail flag or variable the deployed function does not have (exit 2, nothing written); one that agrees is taken", async () => {
    await put(deployed.local.s3, SOURCE, "in/b.jpg", await jpeg(640, 480));
    const before = await listKeys(deployed.local.s3, DEST);

    const width = await backfill(SOURCE, DEST, "--width", "300");
    const other = await backfill(SOURCE, DEST, "--renditions", JSON.stringify(RENDITIONS.slice(1)));
    const variable = await runCli(
      ["backfill", "--direct", "--endpoint", deployed.local.endpoint, "--source-bucket", SOURCE],
      {
        cwd: deployed.project,
        env: { ...env, THUMBNAILER_DEST_BUCKET: DEST, THUMBNAILER_THUMB_QUALITY: "50" },
      },
    );
    const afterRefusals = await listKeys(deployed.local.s3, DEST);
    // The same list, written otherwise (other order of fields, defaults spelt out)
    const same = RENDITIONS.map((r) => ({ prefix: `${r.name}/`, ...r, animated: false }));
    const agreeing = await backfill(SOURCE, DEST, "--renditions", JSON.stringify(same));

    expect(width.code).toBe(2);
    expect(width.stderr).toContain(
      '--width 300 is not deployment "thumbnailer"\'s configuration: its function makes the ' +
        "renditions small (64x64-inside-q80.webp), card (200x100-cover-q80.png)",
    );
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('--renditions [{"name":"card","width":200,');
    expect(other.stderr).toContain('is not deployment "thumbnailer"\'s configuration');
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain(
      'THUMBNAILER_THUMB_QUALITY=50 is not deployment "thumbnailer"\'s configuration',
    );
    expect(afterRefusals).toEqual(before);
    expect(agreeing.code).toBe(0);
    expect(parseLines(agreeing.stdout).map((l) => [l.key, l.outcome])).toEqual([
      ["in/b.jpg", "created"],
    ]);
  });

  it("into another destination bucket: the function's renditions, but not its destination prefix", async () => {
    const result = await backfill(SOURCE, "copies");

    expect(result.code).toBe(0);
    expect((await listKeys(deployed.local.s3, "copies")).sort()).toEqual(
      ["cards/in/a.jpg", "cards/in/b.jpg", "small/in/a.jpg", "small/in/b.jpg"].sort(),
    );
  });

  it("outside the deployment, the thumbnail flags apply as before", async () => {
    await put(deployed.local.s3, "source", "in/a.jpg", await jpeg(640, 480));

    const result = await backfill("source", "thumbnails", "--width", "32", "--format", "png");

    expect(result.code).toBe(0);
    expect(await listKeys(deployed.local.s3, "thumbnails")).toEqual(["in/a.jpg"]);
    const object = await get(deployed.local.s3, "thumbnails", "in/a.jpg");
    const { width, height, format } = await describeImage(object?.data ?? new Uint8Array());
    expect([format, width, height]).toEqual(["png", 32, 24]);
  });
});

/**
 * The same command in this process (the CLI's own run(), or runDirect for a configuration the
 * flags cannot express) against a real s3rver: a few objects each, and the S3 calls the run
 * makes counted, delayed or failed where a test needs it.
 */
describe("thumbnailer backfill --direct (in process: real s3rver)", () => {
  let local: TestS3;
  let work: string;
  let pair = 0;
  const saved = { ...process.env };

  beforeAll(async () => {
    configureSharp();
    local = await startTestS3(Array.from({ length: 11 }, (_, i) => [`in-${i}`, `out-${i}`]).flat());
    work = await mkdtemp(path.join(tmpdir(), "thumbnailer-backfill-"));
    // run() builds its client with the default credential chain, as the CLI does.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
      AWS_REGION: env.AWS_REGION,
    });
  });

  afterAll(async () => {
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await local.close();
    await rm(work, { recursive: true, force: true });
  });

  afterEach(() => jest.restoreAllMocks());

  /** A fresh pair of buckets holding `keys` (small real JPEGs); returns their ETags by key. */
  async function buckets(keys: readonly string[]) {
    const source = `in-${pair}`;
    const dest = `out-${pair}`;
    pair += 1;
    const image = await jpeg(40, 30);
    const eTags: Record<string, string> = {};
    for (const key of keys) eTags[key] = await put(local.s3, source, key, image);
    const checkpoint = path.join(work, `${source}.checkpoint.json`);
    // run() takes what follows `thumbnailer backfill`.
    const flags = (...more: string[]) => [
      "--direct",
      "--endpoint",
      local.endpoint,
      "--source-bucket",
      source,
      "--dest-bucket",
      dest,
      "--checkpoint",
      checkpoint,
      "--json",
      ...more,
    ];
    return { source, dest, eTags, checkpoint, flags };
  }

  /** Runs `fn` with stdout and stderr captured, and the SIGINT handlers it adds removed after. */
  async function captured(fn: () => Promise<number>) {
    const out: string[] = [];
    const err: string[] = [];
    const capture = (into: string[]) => (chunk: unknown) => {
      into.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, "write").mockImplementation(capture(out)),
      jest.spyOn(process.stderr, "write").mockImplementation(capture(err)),
    ];
    const before = new Set(process.listeners("SIGINT"));
    try {
      const code = await fn();
      return { code, stdout: out.join(""), stderr: err.join(""), lines: parseLines(out.join("")) };
    } finally {
      for (const listener of process.listeners("SIGINT")) {
        if (!before.has(listener)) process.removeListener("SIGINT", listener);
      }
      for (const spy of spies) spy.mockRestore();
    }
  }

  type Send = (this: S3Client, command: unknown) => Promise<unknown>;
  /** Every S3 call of every client goes through `around` (the real call is `send`). */
  function interceptS3(
    around: (command: unknown, send: () => Promise<unknown>) => Promise<unknown>,
  ) {
    const original = S3Client.prototype.send as unknown as Send;
    jest.spyOn(S3Client.prototype, "send").mockImplementation(function (
      this: S3Client,
      command: unknown,
    ) {
      return around(command, () => original.call(this, command)) as never;
    });
  }

  /** The S3 calls made, as "Command bucket/key", and the most of each in flight at once. */
  function recordS3(delay: (name: string) => number = () => 0): {
    calls: string[];
    maxInFlight: (name: string) => number;
    reset: () => void;
  } {
    const calls: string[] = [];
    const inFlight = new Map<string, number>();
    const most = new Map<string, number>();
    interceptS3(async (command, send) => {
      const name = (command as object).constructor.name;
      const input = (command as { input: { Bucket?: string; Key?: string } }).input;
      calls.push(`${name} ${input.Bucket}/${input.Key}`);
      inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
      most.set(name, Math.max(most.get(name) ?? 0, inFlight.get(name) ?? 0));
      try {
        await sleep(delay(name));
        return await send();
      } finally {
        inFlight.set(name, (inFlight.get(name) ?? 1) - 1);
      }
    });
    return {
      calls,
      maxInFlight: (name) => most.get(name) ?? 0,
      reset: () => {
        calls.length = 0;
        most.clear();
      },
    };
  }

  it("counts an object whose processing ended fatal (a configuration that cannot work) as failed, with its reason, and exits 1", async () => {
    // Arrange: limits no flag accepts, so the engine refuses them with a ConfigError
    const { source, dest, checkpoint } = await buckets(["a.jpg", "b.jpg"]);
    const config = readConfig({ SOURCE_BUCKET: source, DEST_BUCKET: dest });
    const broken = { ...config, limits: { ...config.limits, maxInputPixels: 0 } };
    const s3 = localClient(local.endpoint);

    // Act
    const result = await captured(() =>
      runDirect({
        s3,
        config: broken,
        sourceSuffix: "",
        mode: "missing",
        concurrency: 1,
        dryRun: false,
        json: true,
        checkpointFile: checkpoint,
        resume: false,
        stopRequested: new Promise(() => undefined),
      }),
    );
    s3.destroy();

    // Assert
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("0 made, 0 skipped (up to date), 1 failed");
    expect(result.stderr).toMatch(
      /failed s3:\/\/in-\d+\/a\.jpg: INVALID_CONFIG Invalid limit maxInputPixels: 0/,
    );
    // Stopped at the first: every other object would fail the same way.
    expect(result.lines.map((l) => [l.key, l.outcome, l.code])).toEqual([
      ["a.jpg", "fatal", "INVALID_CONFIG"],
    ]);
    expect(result.stderr).toContain("stopped: the configuration cannot work");
    expect(await listKeys(local.s3, dest)).toEqual([]);
  });

  it("counts an object whose thumbnail write failed as failed (exit 1), not as skipped", async () => {
    const { source, dest, flags } = await buckets(["a.jpg", "b.jpg"]);
    interceptS3(async (command, send) => {
      const { input } = command as { input: { Bucket?: string; Key?: string } };
      if (command instanceof PutObjectCommand && input.Bucket === dest && input.Key === "b.jpg") {
        throw serviceError("InternalError", 500);
      }
      return send();
    });

    const result = await captured(() => run(flags()));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("2 seen, 1 made, 0 skipped (up to date), 1 failed");
    expect(result.stderr).toContain(
      `failed s3://${source}/b.jpg: S3_ERROR PutObject s3://${dest}/b.jpg failed (HTTP 500)`,
    );
    expect(result.lines.map((l) => [l.key, l.outcome]).sort()).toEqual([
      ["a.jpg", "created"],
      ["b.jpg", "retry"],
    ]);
    expect(await listKeys(local.s3, dest)).toEqual(["a.jpg"]);
  });

  it("--dry-run says what would be made and writes nothing: no thumbnail, no tag, no checkpoint", async () => {
    const { source, dest, checkpoint, flags } = await buckets(["a.jpg", "b.jpg", "c.jpg"]);
    const s3 = recordS3();

    const result = await captured(() => run(flags("--dry-run")));

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      "backfill (dry run): 3 seen, 3 to make, 0 skipped (up to date), 0 failed",
    );
    expect(result.lines.map((l) => [l.key, l.outcome]).sort()).toEqual([
      ["a.jpg", "created"],
      ["b.jpg", "created"],
      ["c.jpg", "created"],
    ]);
    // Listed and checked only: the source never downloaded, nothing written anywhere.
    const names = new Set(s3.calls.map((call) => call.split(" ")[0]));
    expect([...names].sort()).toEqual([
      "GetObjectTaggingCommand",
      "HeadObjectCommand",
      "ListObjectsV2Command",
    ]);
    expect(await listKeys(local.s3, dest)).toEqual([]);
    expect((await listKeys(local.s3, source)).sort()).toEqual(["a.jpg", "b.jpg", "c.jpg"]);
    await expect(readFile(checkpoint)).rejects.toThrow();
  });

  it("--source-suffix: only keys the deployment's filter matches are processed; the others are counted, never read or tagged", async () => {
    // Arrange: the same JPEG under every name; uploads trigger the function only for ".jpg"
    const keys = ["a.jpg", "b.png", "c.jpg", "notes.txt", "d.JPG"];
    const { source, dest, checkpoint, flags } = await buckets(keys);
    const s3 = recordS3();

    // Act
    const result = await captured(() => run(flags("--source-suffix", ".jpg")));

    // Assert
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("backfill: 2 seen, 2 made, 0 skipped (up to date), 0 failed");
    expect(result.stderr).toContain(
      `3 not matched by the deployment's filter (keys ending ".jpg")`,
    );
    expect(result.lines.map((l) => [l.key, l.outcome]).sort()).toEqual([
      ["a.jpg", "created"],
      ["c.jpg", "created"],
    ]);
    expect(await listKeys(local.s3, dest)).toEqual(["a.jpg", "c.jpg"]);
    // Listed only: nothing read, written or tagged for the keys uploads never trigger.
    const touched = s3.calls.filter((call) => !call.startsWith("ListObjectsV2Command"));
    for (const key of ["b.png", "notes.txt", "d.JPG"]) {
      expect(touched.filter((call) => call.endsWith(`/${key}`))).toEqual([]);
    }
    // A checkpoint is for one filter: resuming it with another would skip the wrong keys.
    await writeCheckpoint(checkpoint, {
      scope: {
        sourceBucket: source,
        sourcePrefix: "",
        sourceSuffix: ".jpg",
        destBucket: dest,
        destPrefix: "",
      },
      after: "a.jpg",
    });
    const other = await captured(() => run(flags("--resume")));
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('the checkpoint of another backfill (sourceSuffix ".jpg")');
    // A checkpoint written before the suffix existed is of a run over every key.
    await writeFile(
      checkpoint,
      JSON.stringify({
        scope: { sourceBucket: source, sourcePrefix: "", destBucket: dest, destPrefix: "" },
        after: "c.jpg",
      }),
    );
    const old = await captured(() => run(flags("--resume")));
    expect(old.code).toBe(0);
    expect(old.lines.map((l) => l.key).sort()).toEqual(["d.JPG", "notes.txt"]);
  });

  it("--concurrency bounds the objects in flight: 1 is one at a time, 3 is three", async () => {
    const keys = ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg"];
    const { flags } = await buckets(keys);
    // Each download takes a while, so objects in flight overlap as far as the limit lets them.
    const slow = (name: string) => (name === "GetObjectCommand" ? 150 : 0);

    const s3 = recordS3(slow);
    const first = await captured(() => run(flags("--concurrency", "1")));
    const oneAtATime = s3.maxInFlight("GetObjectCommand");
    s3.reset();
    const second = await captured(() => run(flags("--concurrency", "3", "--force")));

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stderr).toContain("6 seen, 6 made");
    expect(second.stderr).toContain("6 seen, 6 made");
    expect(oneAtATime).toBe(1);
    expect(s3.maxInFlight("GetObjectCommand")).toBe(3);
  });

  it("--resume refuses the checkpoint of another prefix (exit 2, nothing made) and resumes its own", async () => {
    const keys = ["a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg"];
    const { source, dest, checkpoint, flags } = await buckets(keys);
    const scope = { sourceBucket: source, sourceSuffix: "", destBucket: dest, destPrefix: "" };
    // A run over b/ stopped after b/1.jpg; resuming it over a/ would skip every a/ key.
    await writeCheckpoint(checkpoint, {
      scope: { ...scope, sourcePrefix: "b/" },
      after: "b/1.jpg",
    });

    const other = await captured(() => run(flags("--source-prefix", "a/", "--resume")));
    const made = await listKeys(local.s3, dest);
    const own = await captured(() => run(flags("--source-prefix", "b/", "--resume")));

    expect(other.code).toBe(2);
    expect(other.stderr).toContain('the checkpoint of another backfill (sourcePrefix "b/")');
    expect(made).toEqual([]);
    expect(own.code).toBe(0);
    expect(own.lines.map((l) => [l.key, l.outcome])).toEqual([["b/2.jpg", "created"]]);
    expect(await listKeys(local.s3, dest)).toEqual(["b/2.jpg"]);
  });

  it("retries an object whose failure tag is for an older version; one failed at this version is reported, not downloaded", async () => {
    const { source, dest, eTags, flags } = await buckets(["replaced.jpg", "failed.jpg"]);
    const tag = (key: string, eTag: string) =>
      local.s3.send(
        new PutObjectTaggingCommand({
          Bucket: source,
          Key: key,
          Tagging: {
            TagSet: [
              { Key: FAILURE_TAGS.code, Value: "CORRUPT_INPUT" },
              { Key: FAILURE_TAGS.eTag, Value: eTag },
            ],
          },
        }),
      );
    // replaced.jpg failed as an earlier upload (another ETag), then was replaced by a good one.
    await tag("replaced.jpg", "0123456789abcdef0123456789abcdef");
    await tag("failed.jpg", eTags["failed.jpg"] ?? "");
    const s3 = recordS3();

    const result = await captured(() => run(flags()));

    expect(result.code).toBe(1);
    expect(result.lines.map((l) => [l.key, l.outcome, l.code]).sort()).toEqual([
      ["failed.jpg", "failed", "CORRUPT_INPUT"],
      ["replaced.jpg", "created", undefined],
    ]);
    expect(result.stderr).toMatch(/failed s3:\/\/in-\d+\/failed\.jpg: CORRUPT_INPUT failed before/);
    expect(await listKeys(local.s3, dest)).toEqual(["replaced.jpg"]);
    expect(s3.calls.filter((call) => call.startsWith("GetObjectCommand"))).toEqual([
      `GetObjectCommand ${source}/replaced.jpg`,
    ]);
  });

  it("retries a failure recorded under other settings (a raised --max-input-pixels); the same settings report it, not downloaded", async () => {
    // 40x30 = 1,200 pixels: over a limit of 1,000, under one of 2,000.
    const { source, dest, flags } = await buckets(["big.jpg"]);
    await local.s3.send(
      new PutObjectTaggingCommand({
        Bucket: source,
        Key: "big.jpg",
        Tagging: { TagSet: [{ Key: "owner", Value: "alice" }] },
      }),
    );
    const s3 = recordS3();
    const downloads = () => s3.calls.filter((call) => call.startsWith("GetObjectCommand"));

    const low = await captured(() => run(flags("--max-input-pixels", "1000")));
    s3.reset();
    const same = await captured(() => run(flags("--max-input-pixels", "1000")));
    const sameDownloads = downloads();
    s3.reset();
    const raised = await captured(() => run(flags("--max-input-pixels", "2000")));

    expect(low.code).toBe(1);
    expect(low.lines.map((l) => [l.key, l.outcome, l.code])).toEqual([
      ["big.jpg", "failed", "TOO_MANY_PIXELS"],
    ]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/big\.jpg: TOO_MANY_PIXELS failed before .*under these settings/);
    expect(sameDownloads).toEqual([]);
    expect(raised.code).toBe(0);
    expect(raised.lines.map((l) => [l.key, l.outcome])).toEqual([["big.jpg", "created"]]);
    expect(downloads()).toEqual([`GetObjectCommand ${source}/big.jpg`]);
    expect(await listKeys(local.s3, dest)).toEqual(["big.jpg"]);
    // The success replaced the record: only the owner's tag is left.
    const { TagSet } = await local.s3.send(
      new GetObjectTaggingCommand({ Bucket: source, Key: "big.jpg" }),
    );
    expect(TagSet).toEqual([{ Key: "owner", Value: "alice" }]);
  });

  describe("checks credentials, the endpoint and the source bucket before listing anything", () => {
    const names = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE"];
    const more = ["AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_EC2_METADATA_DISABLED"];
    const kept: Record<string, string | undefined> = {};
    beforeEach(() => {
      for (const name of [...names, ...more]) kept[name] = process.env[name];
    });
    afterEach(() => {
      for (const [name, value] of Object.entries(kept)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    /** Exit 2, one message, and neither a progress line nor a summary nor a raw SDK error. */
    function expectRefused(result: { code: number; stderr: string; stdout: string }) {
      expect(result.code).toBe(2);
      expect(result.stderr).not.toMatch(/\d+\/\d+|seen|Error:/);
      expect(result.stdout).toBe("");
    }

    it("without credentials: says what to set", async () => {
      const { flags } = await buckets([]);
      // No credentials anywhere the SDK looks: variables, files, instance metadata.
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_PROFILE;
      process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(work, "no-credentials");
      process.env.AWS_CONFIG_FILE = path.join(work, "no-config");
      process.env.AWS_EC2_METADATA_DISABLED = "true";

      const result = await captured(() => run(flags()));

      expectRefused(result);
      expect(result.stderr).toContain(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for the local service, npm start: S3RVER and S3RVER), or AWS_PROFILE",
      );
    });

    it("an endpoint nothing answers on: names it", async () => {
      const { flags } = await buckets([]);
      const args = flags();
      args[args.indexOf("--endpoint") + 1] = "http://127.0.0.1:9";

      const result = await captured(() => run(args));

      expectRefused(result);
      expect(result.stderr).toContain("cannot reach the S3 endpoint http://127.0.0.1:9 (");
      expect(result.stderr).toContain("ECONNREFUSED");
    });

    it("a source bucket that does not exist: names it", async () => {
      const { flags } = await buckets([]);
      const args = flags();
      args[args.indexOf("--source-bucket") + 1] = "no-such-bucket";

      const result = await captured(() => run(args));

      expectRefused(result);
      expect(result.stderr).toContain(
        `the source bucket no-such-bucket does not exist at ${local.endpoint}`,
      );
    });
  });
});
