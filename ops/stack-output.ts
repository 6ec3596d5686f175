/**
 * Prints one value from a `cdktf deploy --outputs-file` JSON file ({ stack: { output: value } }):
 *
 *   node dist/ops/stack-output.js FILE name[,other-name...]
 *
 * Names match loosely (case, "-" and "_" ignored: "source-bucket" matches "sourceBucket"), as
 * ops/deployment.ts findOutput finds them (in any stack, at any depth); the first name with a
 * non-empty value wins. Exits 1, printing nothing, when none is there.
 * scripts/lib/common.sh wraps it as `stack_output`.
 */
import { readFileSync } from "node:fs";
import { findOutput } from "./deployment";

function main([file, names]: string[]): number {
  if (!file || !names) {
    process.stderr.write("usage: stack-output.js FILE name[,other-name...]\n");
    return 2;
  }
  const root: unknown = JSON.parse(readFileSync(file, "utf8"));
  for (const name of names.split(",")) {
    const value = findOutput(root, name);
    if (value !== undefined && value !== "") {
      process.stdout.write(value);
      return 0;
    }
  }
  return 1;
}

process.exitCode = main(process.argv.slice(2));
