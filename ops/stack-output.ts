/**
 * One value from a `cdktf deploy --outputs-file` JSON file ({ stack: { output: value } }), for
 * ops/github-settings.ts. Names match loosely (case, "-" and "_" ignored: "source-bucket" matches
 * "sourceBucket"), as ops/deployment.ts findOutput finds them (in any stack, at any depth); the
 * first name with a non-empty value wins.
 */
import { findOutput } from "./deployment";

/** The value of the first of `names` the outputs hold, or undefined when none is there. */
export function stackOutput(outputs: object, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = findOutput(outputs, name);
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}
