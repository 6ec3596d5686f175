/**
 * The Node.js policy (cli/node-policy.ts): supported majors get no notice; an end-of-life Node
 * gets the project's one-line note in `thumbnailer serve`'s banner, ahead of anything the AWS SDK
 * would print (integration: the real CLI process on whatever Node runs the tests).
 */

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { nodeNotice, SUPPORTED_NODE_MAJOR, takeOverNodeWarning } from "../cli/node-policy";
import { buildDist, CLI } from "./support/build-dist";

describe("nodeNotice", () => {
  it.each(["v22.0.0", "v24.11.1", "v25.1.0"])("has nothing to say about %s", (version) => {
    expect(nodeNotice(version)).toBeUndefined();
  });

  it.each(["v20.20.2", "v18.20.8"])("says %s is past end of life and what to use", (version) => {
    expect(nodeNotice(version)).toContain(`Node.js ${version} is past end of life`);
    expect(nodeNotice(version)).toContain(`use Node ${SUPPORTED_NODE_MAJOR} or 24`);
  });
});

describe("takeOverNodeWarning", () => {
  it("silences only the SDK's Node version warning, and only on an end-of-life Node", () => {
    const old: NodeJS.ProcessEnv = {};
    const current: NodeJS.ProcessEnv = {};

    expect(takeOverNodeWarning(old, "v20.20.2")).toBe(nodeNotice("v20.20.2"));
    expect(takeOverNodeWarning(current, "v24.11.1")).toBeUndefined();

    expect(old).toEqual({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" });
    expect(current).toEqual({});
  });
});

describe("thumbnailer serve on this Node (integration: real CLI process)", () => {
  let dataDir: string;

  beforeAll(async () => {
    buildDist();
    dataDir = await mkdtemp(path.join(tmpdir(), "thumbnailer-node-"));
  }, 120_000);

  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("prints its own banner first: no SDK warning, and the note when this Node is past end of life", async () => {
    const args = [CLI, "serve", "--port", "0", "--ui-port", "0", "--data", dataDir];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (/Ctrl\+C stops/.test(output)) resolve();
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("exit", () => reject(new Error(`serve exited before its banner:\n${output}`)));
        setTimeout(() => reject(new Error(`no banner after 60 s:\n${output}`)), 60_000).unref();
      });
    } finally {
      child.kill("SIGTERM");
    }

    expect(output.trimStart()).toMatch(/^thumbnailer: local S3 service ready/);
    expect(output).not.toContain("NodeVersionSupportWarning");
    const notice = nodeNotice(process.version);
    if (notice === undefined) expect(output).not.toMatch(/^ {2}note /m);
    else expect(output).toContain(`  note          ${notice}`);
  }, 90_000);
});
