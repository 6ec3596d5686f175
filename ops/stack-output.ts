/**
 * Prints one value from a `cdktf deploy --outputs-file` JSON file ({ stack: { output: value } }):
 *
 *   node dist/ops/stack-output.js FILE name[,other-name...]
 *
 * Names match loosely (case, "-" and "_" ignored: "source-bucket" matches "sourceBucket"); the
 * first name found (in any stack, at any depth) wins. Exits 1, printing nothing, when none is there.
 * scripts/lib/common.sh wraps it as `stack_output`.
 */
import { readFileSync } from "node:fs";

const loose = (name: string): string => name.toLowerCase().replace(/[-_]/g, "");

/** Outputs by construct id, nested under the stack (and under any construct that holds them). */
function find(tree: object, wanted: string): string | undefined {
  for (const [name, value] of Object.entries(tree)) {
    if (typeof value === "string" && value !== "" && loose(name) === wanted) return value;
    if (value !== null && typeof value === "object") {
      const found = find(value, wanted);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function main([file, names]: string[]): number {
  if (!file || !names) {
    process.stderr.write("usage: stack-output.js FILE name[,other-name...]\n");
    return 2;
  }
  const root = JSON.parse(readFileSync(file, "utf8")) as object;
  for (const wanted of names.split(",").map(loose)) {
    const value = find(root, wanted);
    if (value !== undefined) {
      process.stdout.write(value);
      return 0;
    }
  }
  return 1;
}

process.exitCode = main(process.argv.slice(2));
