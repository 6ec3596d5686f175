/**
 * The buckets a Terraform state file holds, and whether each was deployed with force_destroy,
 * for scripts/destroy.sh: Terraform deletes a bucket with the force_destroy its state records,
 * not the one in the configuration, so a forceDestroyBuckets not yet deployed still fails on a
 * bucket that holds objects.
 *
 *   node dist/ops/state-buckets.js < STATE.json
 *
 * prints "BUCKET true|false" per bucket.
 */
import { readFileSync } from "node:fs";

interface State {
  resources?: {
    mode?: string;
    type?: string;
    instances?: { attributes?: { bucket?: unknown; force_destroy?: unknown } }[];
  }[];
}

/** "BUCKET true|false" per bucket of `stateJson` (none for an empty file: no state yet). */
export function stateBuckets(stateJson: string): string[] {
  if (stateJson.trim() === "") return [];
  const state = JSON.parse(stateJson) as State;
  return (state.resources ?? [])
    .filter((r) => r.mode === "managed" && r.type === "aws_s3_bucket")
    .flatMap((r) => r.instances ?? [])
    .map((i) => `${String(i.attributes?.bucket)} ${i.attributes?.force_destroy === true}`);
}

if (require.main === module) {
  try {
    for (const line of stateBuckets(readFileSync(0, "utf8"))) process.stdout.write(`${line}\n`);
  } catch (error) {
    console.error(`state-buckets: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
