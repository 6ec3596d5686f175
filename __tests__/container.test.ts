/**
 * Container image contract (integration: real npm, esbuild, sharp, s3rver; no Docker).
 *
 * No Docker engine runs here, so this test does what the Dockerfile does: it parses the
 * Dockerfile (dockerfile-ast) and replays its stages (__tests__/support/dockerfile.ts) for linux/amd64 and
 * linux/arm64: production dependencies installed from the lockfile with npm's --os/--cpu flags,
 * the bundle built, both copied into the runtime stage's LAMBDA_TASK_ROOT. Then, in a fresh
 * Node process that sees only that layout, it loads the handler named by CMD and makes real
 * thumbnails through it against a local S3-protocol server.
 *
 * npm runs offline-first from the local cache; the replay takes well under two minutes.
 */

import { execFile } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import sharp from "sharp";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import {
  cmdOf,
  type Dockerfile,
  dockerignore,
  inStage,
  readDockerfile,
  replay,
  runsOnBuildPlatform,
  type Stage,
  type StageResult,
} from "./support/dockerfile";
import { heicFixture } from "./support/heic-fixtures";
import { markedImage } from "./support/images";
import { localClient } from "./support/local-s3";
import { s3Event } from "./support/s3-events";

const ROOT = join(__dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const dockerfile: Dockerfile = readDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const runtimeStage: Stage = (() => {
  const last = dockerfile.stages[dockerfile.stages.length - 1];
  if (last === undefined) throw new Error("the Dockerfile has no stages");
  return last;
})();

/** npm and npx offline-first from the local cache, quietly. */
const NPM_ENV = {
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

/** sharp's platform packages per buildx target architecture. */
const SHARP = {
  amd64: { npmCpu: "x64", elfMachine: 62 },
  arm64: { npmCpu: "arm64", elfMachine: 183 },
} as const;
type Arch = keyof typeof SHARP;

function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

describe("Dockerfile", () => {
  it("runs on the AWS Lambda Node.js base image at a supported major within package.json engines", () => {
    // Arrange
    const match = /^public\.ecr\.aws\/lambda\/nodejs:(\d+)(?:[.\-@]|$)/.exec(runtimeStage.from);
    const engines = /^>=(\d+)\.\d+\.\d+ <(\d+)$/.exec(pkg.engines.node);

    // Assert
    expect(match).not.toBeNull();
    expect(engines).not.toBeNull();
    const major = Number(match?.[1]);
    expect([22, 24]).toContain(major); // Node 20 reached end of life in April 2026
    expect(major).toBeGreaterThanOrEqual(Number(engines?.[1]));
    expect(major).toBeLessThan(Number(engines?.[2]));
    // The stages that build the image use the same Node major as the runtime.
    for (const stage of dockerfile.stages.slice(0, -1)) {
      if (stage.from.includes("/")) expect(stage.from).toMatch(new RegExp(`:${major}(?:[.-]|$)`));
    }
  });

  it("names the handler in CMD and emulates only the runtime stage's compile-cache step", () => {
    // Assert: CMD is <file>.<export> in LAMBDA_TASK_ROOT
    expect(cmdOf(runtimeStage)).toEqual(["entry.handler"]);
    // Every stage that RUNs does so on the build platform, but the runtime stage: its one RUN
    // makes the compile cache with the image's own Node (container-compile-cache.system.test.ts).
    for (const stage of dockerfile.stages.slice(0, -1)) {
      if (stage.instructions.some((i) => i.getKeyword() === "RUN")) {
        expect([stage.name, runsOnBuildPlatform(dockerfile, stage)]).toEqual([stage.name, true]);
      }
    }
    const runs = runtimeStage.instructions.filter((i) => i.getKeyword() === "RUN");
    expect(runs).toHaveLength(1);
    expect(runs[0]?.toString()).toContain("NODE_COMPILE_CACHE=");
  });

  it("keeps tests, infrastructure code, local data and node_modules out of the build context", () => {
    // Arrange
    const ignored = dockerignore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));

    // Assert
    for (const path of [
      "__tests__/container.test.ts",
      "stacks/lambda-stack.ts",
      "main.ts",
      "cdktf.json",
      "cdktf.out/stacks/lambda/cdk.tf.json",
      "cli/index.ts",
      "ops/settings.ts",
      "bench/index.ts",
      ".data/source/photo.jpg",
      "node_modules/sharp/package.json",
      "dist/handler/index.js",
      ".git/HEAD",
      ".github/workflows/deploy.yml",
      "scripts/push-image.sh",
      "terraform.dependencies.tfstate",
      ".env",
      "handler/engine/thumbnail.test.ts",
    ]) {
      expect([path, ignored(path)]).toEqual([path, true]);
    }
    for (const path of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "scripts/bundle.js",
      "handler/index.ts",
    ]) {
      expect([path, ignored(path)]).toEqual([path, false]);
    }
  });
});

describe("container image layout (Dockerfile replayed without Docker)", () => {
  const work = mkdtempSync(join(tmpdir(), "thumbnailer-image-"));
  const layouts = new Map<Arch, StageResult>();
  const replayedStages = new Map<Arch, StageResult[]>();

  /** The runtime stage's LAMBDA_TASK_ROOT folder for an architecture. */
  const taskRoot = (arch: Arch) => {
    const runtime = layouts.get(arch);
    if (runtime === undefined) throw new Error(`no ${arch} layout`);
    return inStage(runtime, runtime.env.LAMBDA_TASK_ROOT as string);
  };

  beforeAll(() => {
    for (const arch of Object.keys(SHARP) as Arch[]) {
      const stages = replay(dockerfile, {
        context: ROOT,
        workDir: join(work, arch),
        targetArch: arch,
        runEnv: NPM_ENV,
      });
      layouts.set(arch, stages[stages.length - 1] as StageResult);
      replayedStages.set(arch, stages);
    }
  }, 240_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(Object.keys(SHARP) as Arch[])(
    "%s: has sharp's linux binaries for that CPU only, and only production dependencies",
    (arch) => {
      // Arrange
      const modules = join(taskRoot(arch), "node_modules");
      const { npmCpu, elfMachine: machine } = SHARP[arch];

      // Act
      const img = readdirSync(join(modules, "@img")).filter((name) => name.startsWith("sharp-"));
      const lib = join(modules, "@img", `sharp-linux-${npmCpu}`, "lib");
      const addons = readdirSync(lib).filter((f) => f.endsWith(".node"));

      // Assert
      expect(img.sort()).toEqual([`sharp-libvips-linux-${npmCpu}`, `sharp-linux-${npmCpu}`]);
      expect(addons).toHaveLength(1);
      expect(elfMachine(join(lib, addons[0] as string))).toBe(machine);
      expect(existsSync(join(modules, "sharp", "package.json"))).toBe(true);
      for (const dev of Object.keys(pkg.devDependencies)) {
        expect([dev, existsSync(join(modules, dev))]).toEqual([dev, false]);
      }
    },
  );

  it.each(Object.keys(SHARP) as Arch[])(
    "%s: replays every RUN but the runtime stage's, which needs the Lambda image's Node",
    (arch) => {
      // container-compile-cache.system.test.ts gives the replay that Node and carries it out.
      const runtime = layouts.get(arch) as StageResult;
      const runs = runtimeStage.instructions.filter((i) => i.getKeyword() === "RUN");
      expect(runtime.notReplayed).toEqual(runs.map((i) => i.toString()));
      expect(
        replayedStages
          .get(arch)
          ?.slice(0, -1)
          .flatMap((s) => s.notReplayed),
      ).toEqual([]);
    },
  );

  it("keeps glibc to one malloc arena in the runtime environment (peak RSS, decisions step 25)", () => {
    expect(layouts.get("amd64")?.env.MALLOC_ARENA_MAX).toBe("1");
  });

  it("puts the handler named by CMD at LAMBDA_TASK_ROOT as built JavaScript, no sources", () => {
    // Arrange
    const [handlerSpec] = cmdOf(runtimeStage);
    const file = (handlerSpec as string).split(".")[0] as string;

    // Act
    const entries = readdirSync(taskRoot("amd64"));

    // Assert
    expect(entries).toContain(`${file}.js`);
    expect(entries.filter((e) => e.endsWith(".ts"))).toEqual([]);
    expect(entries).not.toContain("handler");
  });

  describe("the handler loaded from the amd64 layout in a fresh Node process", () => {
    const SOURCE = "photos-source";
    const DEST = "photos-thumbs";
    let server: S3rver;
    let endpoint: string;
    let s3: S3Client;

    beforeAll(async () => {
      server = new S3rver({
        port: 0,
        address: "127.0.0.1",
        silent: true,
        directory: join(work, "s3"),
        configureBuckets: [{ name: SOURCE }, { name: DEST }],
      });
      const { port } = (await server.run()) as { port: number };
      endpoint = `http://127.0.0.1:${port}`;
      s3 = localClient(endpoint);
    });

    afterAll(async () => {
      s3?.destroy();
      await server?.close();
    });

    async function upload(
      key: string,
      body: Buffer,
    ): Promise<{ key: string; size: number; eTag: string }> {
      const put = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
      return { key, size: body.length, eTag: (put.ETag ?? "").replace(/"/g, "") };
    }

    /** Runs CMD's handler the way the Lambda runtime does: require <file> from the task root. */
    async function invoke(
      event: unknown,
    ): Promise<{ result: unknown; loadMs: number; foreign: string[] }> {
      const root = taskRoot("amd64");
      const [handlerSpec] = cmdOf(runtimeStage);
      const [file, exportName] = (handlerSpec as string).split(".") as [string, string];
      const script = `
        const t0 = process.hrtime.bigint();
        const mod = require(require("node:path").join(process.env.LAMBDA_TASK_ROOT, ${JSON.stringify(file)}));
        const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const handler = mod[${JSON.stringify(exportName)}];
        Promise.resolve(handler(JSON.parse(process.env.EVENT))).then((result) => {
          const foreign = Object.keys(require.cache).filter((p) => !p.startsWith(process.env.LAMBDA_TASK_ROOT));
          process.stdout.write("\\n@@" + JSON.stringify({ result, loadMs, foreign }) + "\\n");
        });`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
        cwd: root,
        // Only what Lambda would give: no NODE_PATH or NODE_OPTIONS from this process.
        env: {
          PATH: process.env.PATH,
          HOME: work,
          LAMBDA_TASK_ROOT: root,
          EVENT: JSON.stringify(event),
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_S3: endpoint,
          SOURCE_BUCKET: SOURCE,
          DEST_BUCKET: DEST,
        },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const marker = stdout.lastIndexOf("\n@@");
      expect(marker).toBeGreaterThanOrEqual(0);
      return JSON.parse(stdout.slice(marker + 3));
    }

    it("makes JPEG thumbnails of a JPEG and a HEIC upload (sharp and libheif-js resolve from the image)", async () => {
      // Arrange
      const jpeg = await markedImage(640, 480).jpeg().toBuffer();
      const heic = await heicFixture("marked-300x600");
      const photo = await upload("uploads/photo one.jpg", jpeg);
      const phone = await upload("uploads/phone.heic", heic);

      // Act
      const run = await invoke(
        s3Event(
          { eventName: "ObjectCreated:Put", bucket: SOURCE, ...photo },
          { eventName: "ObjectCreated:Put", bucket: SOURCE, ...phone },
        ),
      );

      // Assert
      console.log(`handler module loaded from the image layout in ${run.loadMs.toFixed(1)} ms`);
      expect(run.foreign).toEqual([]);
      for (const [key, width, height] of [
        ["uploads/photo one.jpg", 256, 192],
        ["uploads/phone.heic", 128, 256],
      ] as const) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: DEST, Key: key }));
        const body = await s3.send(new GetObjectCommand({ Bucket: DEST, Key: key }));
        const meta = await sharp(
          Buffer.from(await (body.Body?.transformToByteArray() ?? [])),
        ).metadata();
        expect([key, meta.format, meta.width, meta.height]).toEqual([key, "jpeg", width, height]);
        expect(head.ContentType).toBe("image/jpeg");
        expect(head.Metadata?.["source-key"]).toBe(encodeURIComponent(key));
      }
    });
  });
});
