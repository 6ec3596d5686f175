/**
 * The `thumbnailer` command (`make`, and `serve`'s usage errors), run as the real command (node bin/thumbnailer.js, built from dist/) on a
 * folder of generated images and bad files.
 */

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PRODUCT_RENDITIONS } from "../bench/product-renditions";
import type { Line } from "../cli/make";
import { buildDist, CLI } from "./support/build-dist";
import { animatedFrames, GREEN, RED, solid } from "./support/images";
import {
  type BadInput,
  badInputs,
  type GoodImage,
  goodImages,
  imageInfo,
} from "./support/local-fixtures";
import { get, localClient, put, waitFor } from "./support/local-s3";
import { runCli } from "./support/run-cli";

const parseLines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Line);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("thumbnailer make (real command)", () => {
  let work: string;
  let good: GoodImage[];
  let bad: BadInput[];

  beforeAll(async () => {
    buildDist();
    work = await mkdtemp(path.join(tmpdir(), "thumbnailer-make-"));
    [good, bad] = await Promise.all([goodImages(), badInputs()]);
    // photos/ holds good images in nested folders plus every bad input.
    await mkdir(path.join(work, "photos", "2024", "june"), { recursive: true });
    for (const [index, image] of good.entries()) {
      const folder = index % 2 === 0 ? "photos" : path.join("photos", "2024", "june");
      await writeFile(path.join(work, folder, image.name), image.data);
    }
    for (const input of bad) await writeFile(path.join(work, "photos", input.name), input.data);
    await writeFile(path.join(work, "photos", ".DS_Store"), "hidden files are skipped");
  }, 120_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("thumbnails a folder recursively, reports each input as a JSON line, and exits 1 when some fail", async () => {
    // Act
    const result = await runCli(["make", "--out", "thumbs", "photos"], { cwd: work });

    // Assert: one line per input (hidden file skipped), the right outcome for each
    expect(result.code).toBe(1);
    const lines = parseLines(result.stdout);
    expect(lines).toHaveLength(good.length + bad.length);
    for (const image of good) {
      const line = lines.find((l) => path.basename(l.input) === image.name);
      expect(line).toMatchObject({
        outcome: "ok",
        width: image.width,
        height: image.height,
        code: null,
      });
      expect(line?.output).toBe(
        path.join("thumbs", path.dirname(line?.input ?? ""), `${path.parse(image.name).name}.jpg`),
      );
      const info = await imageInfo(await readFile(path.join(work, line?.output ?? "")));
      expect(info).toEqual({ width: image.width, height: image.height, format: "jpeg" });
    }
    for (const input of bad) {
      const line = lines.find((l) => path.basename(l.input) === input.name);
      expect(line).toMatchObject({ outcome: "failed", output: null, code: input.code });
      expect(line?.reason).toEqual(expect.any(String));
    }
    expect(result.stderr).toMatch(new RegExp(`${good.length} made, ${bad.length} failed`));

    // Assert: exactly the thumbnails, mirrored under thumbs/photos/, and no temporary files
    const expected = good.map((image, index) =>
      path.join("photos", index % 2 === 0 ? "" : "2024/june", `${path.parse(image.name).name}.jpg`),
    );
    expect(await filesUnder(path.join(work, "thumbs"))).toEqual(expected.sort());
  });

  it("exits 0 when every input succeeds, and names outputs after --format", async () => {
    const inputs = good
      .slice(0, 2)
      .map((image, index) => path.join("photos", index === 0 ? "" : "2024/june", image.name));

    const result = await runCli(
      ["make", "--out", "webp", "--format", "webp", "--width", "64", ...inputs],
      { cwd: work },
    );

    expect(result.code).toBe(0);
    const lines = parseLines(result.stdout);
    expect(lines.map((line) => line.output).sort()).toEqual(
      good
        .slice(0, 2)
        .map((image) => path.join("webp", `${path.parse(image.name).name}.webp`))
        .sort(),
    );
    for (const line of lines) {
      const info = await imageInfo(await readFile(path.join(work, line.output ?? "")));
      expect(info.format).toBe("webp");
      expect(info.width).toBeLessThanOrEqual(64);
      expect(line.width).toBe(info.width);
    }
  });

  it("makes every rendition of each input under its prefix, one line per input and rendition", async () => {
    // The issue's list, as a file (--renditions @file.json) and as inline JSON.
    const list = PRODUCT_RENDITIONS;
    await writeFile(path.join(work, "renditions.json"), JSON.stringify(list));
    await mkdir(path.join(work, "two"), { recursive: true });
    for (const image of good.slice(0, 2)) {
      await writeFile(path.join(work, "two", image.name), image.data);
    }

    const inline = await runCli(
      ["make", "--renditions", JSON.stringify(list), "--out", "OUT", "two"],
      { cwd: work },
    );
    const fromFile = await runCli(
      ["make", "--renditions", "@renditions.json", "--out", "OUT2", "two"],
      { cwd: work },
    );

    for (const [result, out] of [
      [inline, "OUT"],
      [fromFile, "OUT2"],
    ] as const) {
      expect(result.code).toBe(0);
      const lines = parseLines(result.stdout);
      expect(lines).toHaveLength(2 * 3);
      const expected = good.slice(0, 2).flatMap((image) => {
        const stem = path.parse(image.name).name;
        return [
          ["small", path.join(out, "small", "two", `${stem}.jpg`)],
          ["square", path.join(out, "square", "two", `${stem}.webp`)],
          ["anim", path.join(out, "anim", "two", `${stem}.webp`)],
        ];
      });
      expect(lines.map((line) => [line.rendition, line.output]).sort()).toEqual(expected.sort());
      for (const line of lines) {
        const info = await imageInfo(await readFile(path.join(work, line.output ?? "")));
        expect([info.width, info.height]).toEqual([line.width, line.height]);
        expect(info.format).toBe(line.rendition === "small" ? "jpeg" : "webp");
        if (line.rendition === "square") expect([info.width, info.height]).toEqual([200, 200]);
      }
    }
  });

  it("makes the still rendition of a GIF whose frames are over --max-input-pixels; the animated one fails alone", async () => {
    // 40 frames of 100x100 (0.4 MP in all) against a limit of 0.1 MP: one frame fits.
    const gif = await animatedFrames(
      100,
      100,
      Array.from({ length: 40 }, (_, i) => (i % 2 ? GREEN : RED)),
    )
      .gif()
      .toBuffer();
    await writeFile(path.join(work, "screencast.gif"), gif);
    const list = [
      { name: "still", width: 64, height: 64 },
      { name: "moving", width: 64, height: 64, format: "webp", animated: true },
    ];

    const result = await runCli(
      ["make", "--renditions", JSON.stringify(list), "--max-input-pixels", "100000"].concat([
        "--out",
        "LONG",
        "screencast.gif",
      ]),
      { cwd: work },
    );

    expect(result.code).toBe(1);
    expect(
      parseLines(result.stdout).map((l) => [l.rendition, l.outcome, l.output, l.code, l.reason]),
    ).toEqual([
      ["still", "ok", path.join("LONG", "still", "screencast.jpg"), null, null],
      [
        "moving",
        "failed",
        null,
        "TOO_MANY_PIXELS",
        "Input is 40 frames of 100×100 = 0.4 MP, over the 0.1 MP limit",
      ],
    ]);
    expect(await filesUnder(path.join(work, "LONG"))).toEqual([
      path.join("still", "screencast.jpg"),
    ]);
  });

  it("replaces an existing thumbnail by renaming a complete file over it, never writing into it", async () => {
    // Arrange: a previous thumbnail, hard-linked to stand for a reader that has it open (a
    // write in place would change what the reader sees; a rename leaves its file alone).
    const image = good[0] as GoodImage;
    const output = path.join(work, "replace", `${path.parse(image.name).name}.jpg`);
    await mkdir(path.dirname(output), { recursive: true });
    await writeFile(output, "the previous thumbnail");
    const reader = path.join(work, "replace-reader.jpg");
    await link(output, reader);

    // Act
    const result = await runCli(["make", "--out", "replace", path.join("photos", image.name)], {
      cwd: work,
    });

    // Assert
    expect(result.code).toBe(0);
    expect(await readFile(reader, "utf8")).toBe("the previous thumbnail");
    expect(await imageInfo(await readFile(output))).toMatchObject({ format: "jpeg" });
    expect(await filesUnder(path.join(work, "replace"))).toEqual([
      path.relative(path.join(work, "replace"), output),
    ]);
  });

  it.each([
    [["make", "photos"], /--out DIR is required/],
    [["make", "--out", "x"], /at least one INPUT/],
    [["make", "--out", "x", "--width", "0", "photos"], /width/],
    [
      ["make", "--out", "x", "--fit", "stretch", "photos"],
      /--fit="stretch" is invalid: expected one of inside, cover/,
    ],
    [["make", "--out", "x", "--colour", "red", "photos"], /Unknown option '--colour'/],
    [
      ["make", "--out", "x", "--widht", "9", "photos"],
      /Unknown option '--widht'; did you mean --width\?/,
    ],
    [["serve", "--concurency", "9"], /Unknown option '--concurency'; did you mean --concurrency\?/],
    [["bench"], /unknown command "bench"/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["serve", "--port", "abc"], /--port="abc" is invalid: expected an integer from 0 to 65535/],
    [
      ["serve", "--quality", "101"],
      /--quality="101" is invalid: expected an integer from 1 to 100/,
    ],
    [
      ["serve", "--ui-port", "70000"],
      /--ui-port="70000" is invalid: expected an integer from 0 to 65535/,
    ],
    [["serve", "--dest-bucket", "source"], /would trigger the function again/],
    [
      ["make", "--out", "x", "--renditions", '[{"name":"a","width":9}]', "photos"],
      /--renditions: rendition "a": height is required/,
    ],
    [
      [
        "make",
        "--out",
        "x",
        "--width",
        "64",
        "--renditions",
        '[{"name":"a","width":9,"height":9}]',
        "photos",
      ],
      /--renditions and --width are both set/,
    ],
    [
      ["serve", "--renditions", '[{"name":"a","width":9,"height":9,"position":"attention"}]'],
      /--renditions: rendition "a": position needs fit "cover"/,
    ],
    [
      ["make", "--out", "x", "--renditions", "@missing.json", "photos"],
      /--renditions @missing.json: cannot read the file/,
    ],
  ])("exits 2 with a message on usage error %j", async (args, message) => {
    const result = await runCli(args, { cwd: work });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
  });

  it.each([
    ["--port", []],
    ["--ui-port", ["--port", "0"]],
  ])("serve exits 1 naming %s when its port is taken", async (flag, others) => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as net.AddressInfo;
    try {
      const result = await runCli([
        "serve",
        ...others,
        flag,
        String(port),
        "--data",
        path.join(work, "data"),
      ]);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} is in use (try ${flag} 0)`);
    } finally {
      busy.close();
    }
  });

  it("explains itself with --help", async () => {
    const top = await runCli(["--help"]);
    const make = await runCli(["make", "--help"]);

    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/make\s+make thumbnails/);
    expect(top.stdout).toMatch(/serve\s+run the pipeline/);
    const serve = await runCli(["serve", "--help"]);
    expect(serve.code).toBe(0);
    for (const flag of [
      "--port",
      "--ui-port",
      "--no-ui",
      "--data",
      "--source-bucket",
      "--dest-bucket",
      "--width",
      "THUMBNAILER_PORT",
    ]) {
      expect(serve.stdout).toContain(flag);
    }
    expect(make.code).toBe(0);
    for (const flag of [
      "--out",
      "--width",
      "--height",
      "--fit",
      "--format",
      "--quality",
      "--background",
      "--max-input-pixels",
      "--max-input-bytes",
    ]) {
      expect(make.stdout).toContain(flag);
    }
  });
});

/**
 * One name per setting: the variable a deployment takes (THUMBNAILER_THUMB_WIDTH) is the one
 * every command reads, and a THUMBNAILER_* or THUMB_* variable that is no setting is refused.
 */
describe("settings from the environment (real command)", () => {
  let work: string;
  let serveChild: ChildProcessWithoutNullStreams | undefined;

  beforeAll(async () => {
    buildDist();
    work = await mkdtemp(path.join(tmpdir(), "thumbnailer-variables-"));
    await writeFile(path.join(work, "wide.png"), await solid(400, 200, RED).png().toBuffer());
  }, 120_000);

  afterAll(async () => {
    serveChild?.kill("SIGTERM");
    await rm(work, { recursive: true, force: true });
  });

  const withEnv = (extra: Record<string, string>) => ({ ...process.env, ...extra });
  const serveArgs = () => [
    "serve",
    "--port",
    "0",
    "--ui-port",
    "0",
    "--no-ui",
    "--data",
    path.join(work, "data"),
  ];

  it.each([
    ["THUMBNAILER_PROT", "THUMBNAILER_PORT"],
    ["THUMB_WIDHT", "THUMBNAILER_THUMB_WIDTH"],
    ["THUMB_WIDTH", "THUMBNAILER_THUMB_WIDTH"],
    ["THUMBNAILER_THUMB_WIDHT", "THUMBNAILER_THUMB_WIDTH"],
  ])(
    "make, serve and backfill exit 2 on %s, suggesting %s",
    async (name, suggestion) => {
      const env = withEnv({ [name]: "100" });
      const commands = [
        ["make", "--out", "typo", "wide.png"],
        serveArgs(),
        ["backfill", "--direct", "--source-bucket", "source", "--dest-bucket", "thumbnails"],
      ];

      for (const args of commands) {
        const result = await runCli(args, { cwd: work, env, timeoutMs: 20_000 });

        expect({ args, code: result.code }).toEqual({ args, code: 2 });
        expect(result.stderr).toContain(`${name} is not a setting; did you mean ${suggestion}?`);
        expect(result.stdout).toBe("");
      }
      expect(await filesUnder(work)).toEqual(["wide.png"]);
    },
    90_000,
  );

  it("make reads THUMBNAILER_THUMB_WIDTH, the deployment's name", async () => {
    const result = await runCli(["make", "--out", "w100", "wide.png"], {
      cwd: work,
      env: withEnv({ THUMBNAILER_THUMB_WIDTH: "100" }),
    });

    expect(result.code).toBe(0);
    const written = await readFile(path.join(work, "w100", "wide.jpg"));
    expect(await imageInfo(written)).toEqual({ width: 100, height: 50, format: "jpeg" });
  });

  it("make names the variables that set both a renditions list and a THUMB_* setting", async () => {
    const result = await runCli(["make", "--out", "both", "wide.png"], {
      cwd: work,
      env: withEnv({
        THUMBNAILER_RENDITIONS: '[{"name":"a","width":9,"height":9}]',
        THUMBNAILER_THUMB_WIDTH: "100",
      }),
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "THUMBNAILER_RENDITIONS and THUMBNAILER_THUMB_WIDTH are both set",
    );
  });

  it("make says that the function's own MAX_INPUT_BYTES is not read, and which name is", async () => {
    const result = await runCli(["make", "--out", "old", "wide.png"], {
      cwd: work,
      env: withEnv({ MAX_INPUT_BYTES: "10" }),
    });

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      "MAX_INPUT_BYTES is not read (the deployed function's own name); set THUMBNAILER_MAX_INPUT_BYTES",
    );
  });

  it("backfill --direct says the same of the function's own DEST_PREFIX, before its checks", async () => {
    const result = await runCli(
      ["backfill", "--direct", "--source-bucket", "source", "--dest-bucket", "thumbnails"],
      {
        cwd: work,
        env: withEnv({
          DEST_PREFIX: "old/",
          AWS_ACCESS_KEY_ID: "x",
          AWS_SECRET_ACCESS_KEY: "y",
          AWS_REGION: "us-east-1",
          AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9",
        }),
      },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^thumbnailer backfill: DEST_PREFIX is not read \(the deployed function's own name\); set THUMBNAILER_DEST_PREFIX\n(.|\n)*thumbnailer backfill: cannot reach the S3 endpoint/m,
    );
  });

  it("serve reads THUMBNAILER_THUMB_WIDTH, the deployment's name (and says CACHE_CONTROL is not read)", async () => {
    const child = spawn(process.execPath, [CLI, ...serveArgs()], {
      cwd: work,
      env: withEnv({ THUMBNAILER_THUMB_WIDTH: "100", CACHE_CONTROL: "max-age=1" }),
    });
    serveChild = child;
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const endpoint = await waitFor(
      "serve's banner",
      async () => /endpoint\s+(http:\/\/\S+)/.exec(stdout)?.[1],
      30_000,
    );
    const s3 = localClient(endpoint);
    try {
      await put(s3, "source", "wide.png", await readFile(path.join(work, "wide.png")));
      const thumbnail = await waitFor("the thumbnail", () => get(s3, "thumbnails", "wide.png"));

      expect(await imageInfo(thumbnail.data)).toEqual({ width: 100, height: 50, format: "jpeg" });
      expect(stderr).toContain(
        "thumbnailer serve: CACHE_CONTROL is not read (the deployed function's own name); set THUMBNAILER_CACHE_CONTROL\n",
      );
    } finally {
      s3.destroy();
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("close", resolve));
      serveChild = undefined;
    }
  }, 60_000);
});
