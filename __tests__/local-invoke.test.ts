/**
 * invoke (cli/serve/invoke.ts): one event delivered the way Lambda's asynchronous invocation
 * does, with a real on-failure record in a temporary folder. Delays of 0 ms keep it quick; the
 * warn lines say which delay each retry waited.
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { FailureLog } from "../cli/serve/failure-log";
import { invoke } from "../cli/serve/invoke";
import type { LogLevel } from "../handler/log";
import { s3Event } from "./support/s3-events";

const event = s3Event({ eventName: "ObjectCreated:Put", bucket: "source", key: "a.jpg" });

describe("invoke", () => {
  let dir: string;
  let failures: FailureLog;
  let lines: ({ level: LogLevel } & Record<string, unknown>)[];
  const log = {
    log: (level: LogLevel, fields: Record<string, unknown>) => lines.push({ level, ...fields }),
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-invoke-"));
    failures = new FailureLog(path.join(dir, "failures.jsonl"));
    lines = [];
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const recorded = async () =>
    (await readFile(failures.file, "utf8").catch(() => ""))
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it.each([
    [[], 1],
    [[0], 2],
    [[0, 3, 0], 4],
  ])(
    "with retry delays %j, tries %i times, then records the event as failed",
    async (retryDelaysMs, tries) => {
      let calls = 0;
      const handle = async () => {
        calls += 1;
        throw new Error("S3 is down");
      };

      const outcome = await invoke(event, {
        handle,
        retryDelaysMs,
        failures,
        log,
        signal: new AbortController().signal,
      });

      expect(outcome).toBe("failed");
      expect(calls).toBe(tries);
      expect(lines.filter((line) => line.level === "warn")).toEqual(
        retryDelaysMs.map((retryIn, index) =>
          expect.objectContaining({
            msg: "invocation failed; retrying",
            attempt: index + 1,
            retryIn,
          }),
        ),
      );
      expect(await recorded()).toEqual([
        expect.objectContaining({
          kind: "invocation",
          attempts: tries,
          code: "INTERNAL",
          reason: "Error: S3 is down",
          event,
        }),
      ]);
    },
  );

  it("returns ok when a retry succeeds, recording nothing", async () => {
    let calls = 0;
    const handle = async () => {
      calls += 1;
      if (calls < 3) throw new Error("S3 is down");
    };

    const outcome = await invoke(event, {
      handle,
      retryDelaysMs: [0, 0, 0],
      failures,
      log,
      signal: new AbortController().signal,
    });

    expect(outcome).toBe("ok");
    expect(calls).toBe(3);
    expect(await recorded()).toEqual([]);
  });

  it("stops at shutdown instead of retrying, recording nothing (reconciliation redoes it)", async () => {
    const stopping = new AbortController();
    let calls = 0;
    const handle = async () => {
      calls += 1;
      stopping.abort();
      throw new Error("S3 is down");
    };

    const outcome = await invoke(event, {
      handle,
      retryDelaysMs: [60_000],
      failures,
      log,
      signal: stopping.signal,
    });

    expect(outcome).toBe("aborted");
    expect(calls).toBe(1);
    expect(await recorded()).toEqual([]);
  });
});
