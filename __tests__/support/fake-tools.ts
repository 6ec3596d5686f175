/**
 * Runs a script from scripts/ with recording stand-ins for aws, docker, gh, terraform and npx
 * first on PATH (__tests__/support/fake-bin/record), and returns what it printed and, in order,
 * every call it made to them. Everything else (bash, node, git, file, mktemp) is real, but for
 * the AWS SDK in the ops tools it runs: the SDK stand-in answers as a new account (NEW_ACCOUNT)
 * unless options.env brings the test's own (sdkStandIn(...).env).
 */

import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { NEW_ACCOUNT, sdkStandIn } from "./sdk-stand-in";

export const PROJECT_ROOT = join(__dirname, "..", "..");
const FAKE_BIN = join(__dirname, "fake-bin");

export interface Call {
  /** "aws", "docker", "gh", "terraform", "npx", or "<tool>:stdin" for data read from stdin. */
  readonly tool: string;
  readonly args: string[];
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: Call[];
  /** The calls as command lines, e.g. "gh auth status", for order assertions. */
  readonly lines: string[];
  /** Files the rules wrote into $FAKE_DIR, by name. */
  readonly files: (name: string) => string;
}

export interface ScriptOptions {
  /**
   * Bash defining `respond NAME ARGS...` (prints what the real tool would, returns its status).
   * $FAKE_DIR is a scratch folder the rules may write to (read back with `files`).
   */
  readonly rules?: string;
  /** Standard input (e.g. the answer to a confirmation prompt). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Project folder whose scripts/ to run, from its root (default: this project). */
  readonly project?: string;
}

/** A throwaway copy of the project, for scripts that write cdktf.json. */
export interface ScratchProject {
  readonly dir: string;
  /** cdktf.json's "context" as it is now. */
  context(): Record<string, unknown>;
  cleanup(): void;
}

/**
 * scripts/ (without its .ts sources) and package.json copied, cdktf.json with `context`, and links to this project's dist/
 * (run `npm run build` first; `npm test` does) and node_modules/.
 */
export function scratchProject(context: Record<string, unknown> = {}): ScratchProject {
  const dir = mkdtempSync(join(tmpdir(), "thumbnailer-project-"));
  // Without the TypeScript sources: the scripts run their compiled form from the linked dist/.
  cpSync(join(PROJECT_ROOT, "scripts"), join(dir, "scripts"), {
    recursive: true,
    filter: (source) => !source.endsWith(".ts"),
  });
  cpSync(join(PROJECT_ROOT, "package.json"), join(dir, "package.json"));
  const cdktf = JSON.parse(readFileSync(join(PROJECT_ROOT, "cdktf.json"), "utf8"));
  writeFileSync(join(dir, "cdktf.json"), `${JSON.stringify({ ...cdktf, context }, null, 2)}\n`);
  for (const link of ["dist", "node_modules"])
    symlinkSync(join(PROJECT_ROOT, link), join(dir, link));
  return {
    dir,
    context: () => JSON.parse(readFileSync(join(dir, "cdktf.json"), "utf8")).context,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs scripts/<script> with `args` against the stand-ins. */
export function runScript(script: string, args: string[], options: ScriptOptions = {}): ScriptRun {
  const project = options.project ?? PROJECT_ROOT;
  return runWithStandIns(["bash", join(project, "scripts", script), ...args], options);
}

/** Runs `command` (e.g. ["bash", "-c", script]) from the project folder against the stand-ins. */
export function runWithStandIns(command: string[], options: ScriptOptions = {}): ScriptRun {
  const dir = mkdtempSync(join(tmpdir(), "thumbnailer-script-"));
  const sdk = options.env?.SDK_STAND_IN === undefined ? sdkStandIn(NEW_ACCOUNT) : undefined;
  try {
    const log = join(dir, "calls.log");
    writeFileSync(log, "");
    const rules = join(dir, "rules.sh");
    writeFileSync(rules, options.rules ?? "");
    // A clean environment: no real AWS/GitHub settings or THUMBNAILER_* leak into the scripts.
    // HOME stays: git reads its safe.directory list there (CI containers need it).
    const env: NodeJS.ProcessEnv = {
      PATH: `${FAKE_BIN}${delimiter}${process.env.PATH ?? ""}`,
      HOME: process.env.HOME,
      TMPDIR: dir,
      LANG: "C.UTF-8",
      FAKE_LOG: log,
      FAKE_RULES: rules,
      FAKE_DIR: dir,
      ...sdk?.env,
      ...options.env,
    };
    const [program = "bash", ...args] = command;
    const result = spawnSync(program, args, {
      cwd: options.project ?? PROJECT_ROOT,
      env,
      input: options.input ?? "",
      encoding: "utf8",
      timeout: 110_000, // bootstrap synthesizes (~40 s alone, more on a busy machine); tests allow 120 s
    });
    const calls = readFileSync(log, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [tool, ...rest] = line.split("\x1f");
        return { tool: tool as string, args: rest };
      });
    // Files the rules wrote to $FAKE_DIR (the scripts' own temporary files are gone by now).
    const files = new Map<string, string>();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && !["calls.log", "rules.sh"].includes(entry.name)) {
        files.set(entry.name, readFileSync(join(dir, entry.name), "utf8"));
      }
    }
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      calls,
      lines: calls.map((call) => [call.tool, ...call.args].join(" ")),
      files: (name) => files.get(name) ?? "",
    };
  } finally {
    sdk?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
