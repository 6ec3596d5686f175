/**
 * Synthesizes the real CDKTF app (main.ts's buildStacks) the way `cdktf synth` does, with
 * app.synth() into a temp folder, so cross-stack wiring is included.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { App } from "cdktf";
import { buildStacks } from "../../main";
import { readInfraConfig } from "../../stacks/config";
import { hashImageInputs, imageInputs } from "../../stacks/image-inputs";

export const PROJECT_ROOT = resolve(__dirname, "..", "..");

/** A synthesized stack: its folder and its parsed cdk.tf.json. */
export interface SynthStack {
  readonly dir: string;
  readonly json: TerraformJson;
  /** The cdk.tf.json text, as written. */
  readonly text: string;
}

export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly output?: Record<string, { value: unknown }>;
  readonly [key: string]: unknown;
}

export interface SynthedInfra {
  readonly outdir: string;
  readonly imageInputsHash: string;
  readonly imageInputs: readonly string[];
  readonly stacks: { readonly dependencies: SynthStack; readonly lambda: SynthStack };
  /** Deletes the temp folder. */
  cleanup(): void;
}

/** Synthesizes both stacks with the given cdktf.json context and environment. */
export function synthInfra(
  context: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
): SynthedInfra {
  const outdir = mkdtempSync(join(tmpdir(), "thumbnailer-synth-"));
  const app = new App({ outdir, context, stackTraces: false });
  const config = readInfraConfig({ context: (key) => app.node.tryGetContext(key), env });
  const inputs = imageInputs(PROJECT_ROOT);
  const imageInputsHash = hashImageInputs(PROJECT_ROOT, inputs);
  buildStacks(app, config, { projectRoot: PROJECT_ROOT, imageInputs: inputs, imageInputsHash });
  app.synth();

  const read = (id: string): SynthStack => {
    const dir = join(outdir, "stacks", id);
    const text = readFileSync(join(dir, "cdk.tf.json"), "utf8");
    return { dir, text, json: JSON.parse(text) as TerraformJson };
  };
  return {
    outdir,
    imageInputsHash,
    imageInputs: inputs,
    stacks: { dependencies: read("dependencies"), lambda: read("lambda") },
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * The stack's JSON with everything that changes between machines or commits replaced by a
 * placeholder: the project root and temp folders, the image inputs (their list, their hash and
 * the tag made from it), and the cdktf version.
 */
export function scrubbed(infra: SynthedInfra, stack: SynthStack): unknown {
  const text = stack.text
    .split(infra.outdir)
    .join("<outdir>")
    .split(PROJECT_ROOT)
    .join("<project-root>")
    // The list of image inputs grows with handler/: the stack tests assert it, not the snapshot.
    .split(JSON.stringify(infra.imageInputs.join("\n")))
    .join('"<image-inputs>"')
    .split(infra.imageInputsHash)
    .join("<image-inputs-hash>")
    .split(infra.imageInputsHash.slice(0, 16))
    .join("<image-inputs-hash-16>")
    .replace(/("stackName": "[^"]+",\s*"version": )"[^"]+"/, '$1"<cdktf-version>"');
  return JSON.parse(text);
}

/**
 * The rollout program a synthesized image-build runs: its `local-exec` command is
 * `bash scripts/NAME.sh`, run in its working_dir, the project root. The path returned is relative
 * to the project root (or to a test's copy of scripts/).
 */
export function rolloutScript(command: string): string {
  const script = /^bash (scripts\/[\w.-]+\.sh)$/.exec(command)?.[1];
  if (script === undefined) throw new Error(`the rollout command runs no scripts/*.sh: ${command}`);
  return script;
}

/** All resources of a Terraform type, by name. */
export function resources(
  json: TerraformJson,
  type: string,
): Record<string, Record<string, unknown>> {
  return json.resource?.[type] ?? {};
}

/** All data sources of a type, by name. */
export function dataSources(
  json: TerraformJson,
  type: string,
): Record<string, Record<string, unknown>> {
  return json.data?.[type] ?? {};
}

/** The single resource of a type; fails if there is not exactly one. */
export function only(json: TerraformJson, type: string): Record<string, unknown> {
  const all = Object.values(resources(json, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0] as Record<string, unknown>;
}
