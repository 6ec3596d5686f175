/**
 * The direct backfill's checkpoint file (real files in a temporary folder): a finished run
 * removes it even while the periodic save is still writing it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CheckpointFile, readCheckpoint, writeCheckpoint } from "../cli/backfill/checkpoint";

const SCOPE = {
  sourceBucket: "source",
  sourcePrefix: "",
  sourceSuffix: "",
  destBucket: "thumbs",
  destPrefix: "",
};

describe("CheckpointFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "checkpoint-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("removes the file after a save that was still writing when the run finished", async () => {
    // Arrange: a save that writes only once released, as a slow disk would
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const file = path.join(dir, "run.checkpoint.json");
    const checkpoints = new CheckpointFile(file, async (target, checkpoint) => {
      await gate;
      await writeCheckpoint(target, checkpoint);
    });

    // Act: the periodic save starts, the run finishes and removes the file, the save completes
    const saving = checkpoints.save({ scope: SCOPE, after: "a.jpg" });
    const removing = checkpoints.remove();
    release();
    await Promise.all([saving, removing]);

    // Assert
    expect(existsSync(file)).toBe(false);
  });

  it("keeps the last of several saves", async () => {
    const file = path.join(dir, "run.checkpoint.json");
    const checkpoints = new CheckpointFile(file);

    await Promise.all([
      checkpoints.save({ scope: SCOPE, after: "a.jpg" }),
      checkpoints.save({ scope: SCOPE, after: "b.jpg" }),
    ]);

    await expect(readCheckpoint(file, SCOPE)).resolves.toEqual({ scope: SCOPE, after: "b.jpg" });
  });
});
