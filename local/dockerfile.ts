/**
 * Reads a Dockerfile: instructions (continuations joined, comments dropped), stages, CMD and
 * ENV. The container contract test replays the file with it (__tests__/support/dockerfile.ts)
 * and the benchmark reads what ships from it (local/bench/dockerfile.ts), so both see the
 * Dockerfile the same way.
 */

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  /** The image or stage named by FROM. */
  readonly from: string;
  /** FROM's --platform flag, if any (e.g. "$BUILDPLATFORM"). */
  readonly platform: string | undefined;
  readonly instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM. */
  readonly globalArgs: Instruction[];
  readonly stages: Stage[];
}

/** Splits a Dockerfile into instructions (continuations joined, comments dropped) and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = "";
  let startLine = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    // Blank and comment lines are dropped, also inside a continued instruction (as Docker does).
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    if (pending === "") startLine = i + 1;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      return;
    }
    const full = (pending + line).trim();
    pending = "";
    const match = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (match === null) throw new Error(`Dockerfile line ${startLine}: cannot parse "${full}"`);
    instructions.push({
      keyword: (match[1] ?? "").toUpperCase(),
      args: (match[2] ?? "").trim(),
      line: startLine,
    });
  });

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/);
      const platform = words.find((w) => w.startsWith("--platform="))?.slice("--platform=".length);
      const rest = words.filter((w) => !w.startsWith("--"));
      const asIndex = rest.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        index: stages.length,
        name: asIndex >= 0 ? rest[asIndex + 1] : undefined,
        from: rest[0] ?? "",
        platform,
        instructions: [],
      });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current === undefined) {
      if (instruction.keyword !== "ARG") {
        throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      }
      globalArgs.push(instruction);
    } else {
      current.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The final stage's CMD as an exec-form array. */
export function cmdOf(stage: Stage): string[] {
  const cmd = stage.instructions.filter((i) => i.keyword === "CMD").pop();
  if (cmd === undefined) throw new Error("the final stage has no CMD");
  const parsed: unknown = JSON.parse(cmd.args);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) {
    throw new Error(`CMD must be an exec-form string array, got ${cmd.args}`);
  }
  return parsed;
}

/** The base image's repository, without tag or digest. */
export function imageRepository(image: string): string {
  return image.replace(/@sha256:[0-9a-f]+$/, "").replace(/:[^/:]+$/, "");
}

/**
 * ENV's `name=value` pairs (values unquoted or double-quoted, $VARS substituted). The legacy
 * `ENV name value` form is refused: Docker itself warns against it.
 */
export function envAssignments(
  args: string,
  env: Record<string, string>,
  line: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  const pair = /\s*(\w+)=("(?:[^"\\]|\\.)*"|\S*)/y;
  let rest = args.trim();
  while (rest !== "") {
    pair.lastIndex = 0;
    const match = pair.exec(rest);
    if (match === null)
      throw new Error(`Dockerfile line ${line}: ENV expects name=value, got ${rest}`);
    const raw = match[2] ?? "";
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    // As Docker does, $VARS refer to the environment before this instruction.
    out[match[1] as string] = substitute(value, env, line);
    rest = rest.slice(pair.lastIndex).trim();
  }
  return out;
}

export function substitute(value: string, env: Record<string, string>, line: number): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const found = env[name];
    if (found === undefined) throw new Error(`Dockerfile line ${line}: $${name} is not set`);
    return found;
  });
}
