/** classify: the one place an error becomes what happens next (failed, retry or fatal). */
import {
  ConfigError,
  classify,
  InvalidRecordError,
  PermanentInputError,
  TransientError,
  tooLarge,
} from "../handler/errors";

describe("classify", () => {
  it.each([
    [
      "a bad input (recorded, not retried)",
      new PermanentInputError("CORRUPT_INPUT", "x"),
      "failed",
    ],
    ["an input over the size limit", tooLarge(11, 10, "MAX_INPUT_BYTES"), "failed"],
    ["an unreadable event record", new InvalidRecordError("no key"), "failed"],
    ["an S3 failure", new TransientError("S3_ERROR", "503"), "retry"],
    ["an unknown error (a bug, a crash of a library)", new Error("boom"), "retry"],
    ["a thrown non-error", "boom", "retry"],
    ["a bad setting (stop, touch nothing)", new ConfigError("X=1 is invalid"), "fatal"],
    ["bad engine options", new ConfigError("bad", { code: "INVALID_OPTIONS" }), "fatal"],
  ])("classifies %s", (_, error, disposition) => {
    expect(classify(error)).toBe(disposition);
  });
});

describe("tooLarge", () => {
  it("names the size, the limit and the setting that sets it", () => {
    expect(tooLarge(2048, 1024, "--max-input-bytes")).toMatchObject({
      code: "INPUT_TOO_LARGE",
      message: "input is 2048 bytes, over the limit of 1024 (--max-input-bytes)",
    });
  });
});

describe("ConfigError", () => {
  it("carries the setting it is about", () => {
    expect(new ConfigError("THUMB_WIDTH=0 is invalid", { setting: "THUMB_WIDTH" })).toMatchObject({
      name: "ConfigError",
      code: "INVALID_CONFIG",
      setting: "THUMB_WIDTH",
    });
  });
});
