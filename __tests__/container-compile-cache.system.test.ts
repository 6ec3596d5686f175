/**
 * The compile cache the Dockerfile ships (system: it runs the Lambda base image's Node major,
 * fetched from the npm registry's official builds by support/node-release.ts, because the cache
 * serves only the Node that made it; npm run test:system).
 *
 * The Dockerfile is replayed for this machine's architecture as in container.test.ts, this time
 * with the runtime stage's RUN carried out by a Node of the base image's major. Then a fresh
 * process of that Node starts the handler CMD names as Lambda's bootstrap does (--expose-gc, a
 * private /tmp) and Node's own compile-cache log says what it read.
 */

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  cmdOf,
  inStage,
  readDockerfile,
  replay,
  type Stage,
  type StageResult,
} from "./support/dockerfile";
import { nodeRelease } from "./support/node-release";

const ROOT = join(__dirname, "..");
const dockerfile = readDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const runtimeStage: Stage = (() => {
  const last = dockerfile.stages[dockerfile.stages.length - 1];
  if (last === undefined) throw new Error("the Dockerfile has no stages");
  return last;
})();
const LAMBDA_IMAGE = "public.ecr.aws/lambda/nodejs";
const NPM_ENV = {
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

/** Every file under a folder with its size and modification time. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => `${f} ${statSync(join(dir, f)).size} ${statSync(join(dir, f)).mtimeMs}`)
    .sort();
}

describe("the image's V8 compile cache (Dockerfile replayed with the Lambda image's Node)", () => {
  const work = mkdtempSync(join(tmpdir(), "thumbnailer-compile-cache-"));
  let runtime: StageResult;
  let node: string;
  let taskRoot: string;
  let stages: StageResult[];

  beforeAll(() => {
    const major = /^public\.ecr\.aws\/lambda\/nodejs:(\d+)/.exec(runtimeStage.from ?? "")?.[1];
    expect(major).toBeDefined();
    const bin = nodeRelease(Number(major));
    node = join(bin, "node");
    stages = replay(dockerfile, {
      context: ROOT,
      workDir: join(work, "image"),
      targetArch: process.arch === "x64" ? "amd64" : process.arch,
      runEnv: NPM_ENV,
      imageTools: { [LAMBDA_IMAGE]: bin },
    });
    runtime = stages[stages.length - 1] as StageResult;
    taskRoot = inStage(runtime, runtime.env.LAMBDA_TASK_ROOT as string);
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /**
   * Starts the handler CMD names (its module scope runs, as when Lambda requires it), with
   * Node's compile-cache log on.
   */
  async function startHandler(): Promise<string> {
    const [file] = (cmdOf(runtimeStage)[0] as string).split(".");
    const sandboxTmp = join(work, `tmp-${Date.now()}`);
    mkdirSync(sandboxTmp);
    const { stderr } = await promisify(execFile)(
      node,
      // Lambda's bootstrap starts node with --expose-gc, a V8 flag in the cache's key. CMD's
      // file as the main module: no other script (an -e would be one more cache entry).
      ["--expose-gc", join(taskRoot, file as string)],
      {
        cwd: taskRoot,
        env: {
          PATH: process.env.PATH,
          TMPDIR: sandboxTmp,
          NODE_DEBUG_NATIVE: "COMPILE_CACHE",
          AWS_REGION: "us-east-1",
          SOURCE_BUCKET: "photos-source",
          DEST_BUCKET: "photos-thumbs",
        },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return stderr;
  }

  it("carries out every RUN, the runtime stage's with the Lambda image's Node", () => {
    expect(stages.flatMap((s) => s.notReplayed)).toEqual([]);
    expect(runtimeStage.instructions.map((i) => i.getKeyword())).toContain("RUN");
  });

  it("ships one world-readable cache folder, made by that Node for root, inside LAMBDA_TASK_ROOT", async () => {
    // Arrange
    const version = (await promisify(execFile)(node, ["--version"])).stdout.trim();
    const cache = join(taskRoot, "compile-cache");

    // Act
    const folders = readdirSync(cache);
    const files = readdirSync(join(cache, folders[0] as string));

    // Assert: Lambda runs the function as a user other than the build's, so every file must be
    // readable by all (Node writes its cache files 0600).
    expect(folders).toEqual([
      expect.stringMatching(new RegExp(`^${version}-${process.arch}-[0-9a-f]+-0$`)),
    ]);
    // The bundle's entry at least (sharp's JavaScript is in the bundle; its platform package's
    // loader is the other file).
    expect(files.length).toBeGreaterThanOrEqual(1);
    for (const f of files) {
      const mode = statSync(join(cache, folders[0] as string, f)).mode;
      expect([f, mode & 0o444]).toEqual([f, 0o444]);
    }
  });

  it("serves the bundle (sharp's JavaScript included) from the cache at a handler start: all hits, nothing to write", async () => {
    // Arrange
    const cache = join(taskRoot, "compile-cache");
    const before = snapshot(cache);

    // Act
    const log = await startHandler();

    // Assert: every module loaded from the image was found in the cache and accepted by V8
    // ("was accepted"; a miss says "was not initialized", a stale entry "was rejected").
    const verdicts = [...log.matchAll(/V8 code cache for CommonJS (\S+) was (\w+)/g)]
      .filter((m) => (m[1] as string).startsWith(taskRoot))
      .map((m) => [m[1], m[2]]);
    expect(verdicts).toContainEqual([join(taskRoot, "index.js"), "accepted"]);
    // sharp's JavaScript is in the bundle (scripts/bundle.js): none of it is read from node_modules.
    const sharpDist = join(taskRoot, "node_modules", "sharp");
    expect(verdicts.filter(([file]) => (file as string).startsWith(sharpDist))).toEqual([]);
    expect(verdicts.filter(([, verdict]) => verdict !== "accepted")).toEqual([]);
    expect(snapshot(cache)).toEqual(before);
  });
});
