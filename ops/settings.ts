/**
 * The persisted deployment settings (cdktf.json "context"), for scripts/*.sh:
 *
 *   node dist/ops/settings.js persist [KEY=VALUE...]  every THUMBNAILER_* setting in the
 *       environment, then the KEY=VALUE pairs, into cdktf.json; prints each change to stderr
 *   node dist/ops/settings.js get KEY          the persisted value ("" when unset)
 *   node dist/ops/settings.js overrides        THUMBNAILER_* variables that differ from
 *       the persisted settings, one line each (exit 0 either way)
 *   node dist/ops/settings.js state-location STACK   where that stack's Terraform state
 *       lives (stacks/stack-base.ts stateLocation): "local PATH" or "s3 BUCKET KEY REGION"
 *
 * Run from the project root (where cdktf.json is). scripts/lib/common.sh wraps it as `settings`.
 */
import { join } from "node:path";
import { readInfraConfig } from "../stacks/config";
import {
  type ContextValue,
  describeOverride,
  overrides,
  persistSettings,
  readPersisted,
  settingsFromEnv,
} from "../stacks/persisted-settings";
import { stateLocation } from "../stacks/stack-base";

function main(args: string[]): number {
  const file = join(process.cwd(), "cdktf.json");
  const [command, ...rest] = args;
  switch (command) {
    case "persist": {
      const values: Record<string, ContextValue> = { ...settingsFromEnv(process.env) };
      for (const pair of rest) {
        const at = pair.indexOf("=");
        if (at <= 0) throw new Error(`expected KEY=VALUE, got '${pair}'`);
        values[pair.slice(0, at)] = pair.slice(at + 1);
      }
      for (const change of persistSettings(file, values)) {
        const from = change.from === undefined ? "" : ` (was ${JSON.stringify(change.from)})`;
        console.error(
          `    cdktf.json context: ${change.key} = ${JSON.stringify(change.to)}${from}`,
        );
      }
      return 0;
    }
    case "get": {
      const [key] = rest;
      if (key === undefined) throw new Error("get needs a KEY");
      const value = readPersisted(file)[key];
      process.stdout.write(value === undefined || value === null ? "" : String(value));
      return 0;
    }
    case "overrides": {
      const persisted = readPersisted(file);
      for (const o of overrides((key) => persisted[key], process.env)) {
        process.stdout.write(`${describeOverride(o)}\n`);
      }
      return 0;
    }
    case "state-location": {
      const [stack] = rest;
      if (stack === undefined) throw new Error("state-location needs a STACK");
      const persisted = readPersisted(file);
      const config = readInfraConfig({ context: (key) => persisted[key], env: process.env });
      const state = stateLocation(config, stack, process.cwd());
      const fields =
        state.kind === "local" ? [state.path] : [state.bucket, state.key, state.region];
      process.stdout.write(`${[state.kind, ...fields].join(" ")}\n`);
      return 0;
    }
    default:
      console.error(
        "usage: settings.js persist [KEY=VALUE...] | get KEY | overrides | state-location STACK",
      );
      return 2;
  }
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`settings: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
