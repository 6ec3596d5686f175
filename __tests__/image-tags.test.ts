/**
 * The tags a deployment records on an image (ops/image-tags.ts): recordTags names them for
 * scripts/push-image.sh (through `image-tags.js record-tags`), and the readers (commitOf) read
 * back what it names.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { commitTag, recordTags } from "../ops/image-tags";
import { UsageError } from "../ops/run-tool";
import { commitOf } from "../ops/tag-names";
import { PROJECT_ROOT } from "./support/fake-tools";

const HASH = "0123456789abcdef".repeat(4);
const COMMIT = "1234567890".repeat(4);

describe("recordTags", () => {
  it.each([
    ["linux/amd64", "amd64"],
    ["linux/arm64", "arm64"],
  ])("names the inputs and commit tags of a %s image", (platform, docker) => {
    const tags = recordTags({ platform, inputsHash: HASH, commit: COMMIT });

    expect(tags).toEqual({
      inputsTag: `inputs-${docker}-${HASH}`,
      commitTag: `commit-${docker}-${COMMIT}`,
    });
    // What it records, the readers read back.
    expect(commitOf([tags.inputsTag ?? "", tags.commitTag ?? ""])).toBe(COMMIT);
  });

  it("names the same commit tag as commitTag (what rollback looks an image up by)", () => {
    const tags = recordTags({ platform: "linux/arm64", inputsHash: HASH, commit: COMMIT });

    expect(tags.commitTag).toBe(commitTag("arm64", COMMIT));
  });

  it("names only the inputs tag without a commit, and none without an inputs hash", () => {
    expect(recordTags({ platform: "linux/amd64", inputsHash: HASH })).toEqual({
      inputsTag: `inputs-amd64-${HASH}`,
    });
    expect(recordTags({ platform: "linux/amd64", inputsHash: "", commit: "" })).toEqual({});
  });

  it.each([
    [
      "a hash of 3 digits",
      { platform: "linux/arm64", inputsHash: "abc" },
      "--inputs-hash 'abc' is not a sha256 hash (64 hex digits)",
    ],
    [
      "an upper-case hash",
      { platform: "linux/arm64", inputsHash: HASH.toUpperCase() },
      `--inputs-hash '${HASH.toUpperCase()}' is not a sha256 hash (64 hex digits)`,
    ],
    [
      "a short commit",
      { platform: "linux/arm64", inputsHash: HASH, commit: "deadbeef" },
      "--commit 'deadbeef' is not a git commit SHA (40 hex digits)",
    ],
    [
      "a commit without an inputs hash",
      { platform: "linux/arm64", commit: COMMIT },
      "--commit needs --inputs-hash: only an image of known inputs can record their commit",
    ],
    [
      "another platform",
      { platform: "linux/386", inputsHash: HASH },
      "--platform 'linux/386' is not supported: use linux/amd64 (x86_64) or linux/arm64 (arm64)",
    ],
  ])("refuses %s", (_case, record, message) => {
    const refuse = () => recordTags(record);

    expect(refuse).toThrow(UsageError); // the tool exits 2
    expect(refuse).toThrow(message);
  });
});

describe("image-tags.js record-tags (what scripts/push-image.sh runs)", () => {
  const tool = (...args: string[]) =>
    spawnSync("node", [join(PROJECT_ROOT, "dist/ops/image-tags.js"), "record-tags", ...args], {
      encoding: "utf8",
    });

  it("prints the inputs tag, then the commit tag, one a line, empty for none", () => {
    const both = tool("--platform", "linux/arm64", "--inputs-hash", HASH, "--commit", COMMIT);
    const inputsOnly = tool("--platform", "linux/amd64", "--inputs-hash", HASH, "--commit", "");

    expect([both.status, both.stdout]).toEqual([
      0,
      `inputs-arm64-${HASH}\ncommit-arm64-${COMMIT}\n`,
    ]);
    expect([inputsOnly.status, inputsOnly.stdout]).toEqual([0, `inputs-amd64-${HASH}\n\n`]);
  });

  it("exits 2 with the reason, printing no tag, on a bad value", () => {
    const run = tool("--platform", "linux/arm64", "--commit", COMMIT);

    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("error: --commit needs --inputs-hash");
  });
});
