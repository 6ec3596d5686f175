/**
 * Replays a Dockerfile without Docker, for the container contract test. The file is parsed by
 * dockerfile-ast (the parser behind VS Code's Dockerfile support: continuations, comments,
 * quoting, exec and shell forms, parser directives), so the Dockerfile may use any syntax Docker
 * accepts. The replay carries out what shapes the image's files and refuses what it cannot
 * model, so the file and the test cannot drift apart silently:
 *   FROM [--platform=...] <image | earlier stage> [AS name]  (an image starts from an empty root
 *        plus the environment it is known to set, see BASE_IMAGE_ENV; a stage starts from a copy)
 *   ARG name[=default]      (TARGETARCH, TARGETPLATFORM, BUILDPLATFORM are given by the replay)
 *   WORKDIR path
 *   COPY [--from=stage] src... dest   (build-context sources honour .dockerignore; --chown,
 *                                      --chmod and --link are accepted and change nothing here)
 *   RUN <command>           (shell form by /bin/sh, exec form directly, in the stage's WORKDIR
 *                            folder; it must use relative paths, which keeps it in that folder.
 *                            A stage on $BUILDPLATFORM runs with this machine's tools; a stage on
 *                            the target platform runs the base image's own programs, so its RUN
 *                            is carried out only for this machine's architecture and with those
 *                            programs given (ReplayOptions.imageTools); otherwise it is listed
 *                            in StageResult.notReplayed, for the test to account for)
 *   ENV name=value ...      (the stage's environment: later instructions and StageResult.env)
 *   CMD, LABEL, EXPOSE, STOPSIGNAL, HEALTHCHECK, MAINTAINER   (metadata: nothing to replay)
 * Each stage gets its own folder standing in for its filesystem root.
 */

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import ignore from "@balena/dockerignore";
import {
  type Arg,
  type Copy,
  DockerfileParser,
  type Env,
  type From,
  type Instruction,
  JSONInstruction,
} from "dockerfile-ast";

/** Environment the base images we build on set (from their published Dockerfiles). */
export const BASE_IMAGE_ENV: Record<string, Record<string, string>> = {
  "public.ecr.aws/lambda/nodejs": {
    LAMBDA_TASK_ROOT: "/var/task",
    LAMBDA_RUNTIME_DIR: "/var/runtime",
  },
  "public.ecr.aws/docker/library/node": {},
};

/** Instructions that only set image metadata: nothing to replay. */
const METADATA = new Set(["CMD", "LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER"]);

// Reading --------------------------------------------------------------------------------------

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
  readonly globalArgs: Arg[];
  readonly stages: Stage[];
}

/** Parses a Dockerfile and splits its instructions into stages. */
export function readDockerfile(text: string): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const from = instruction as From;
      stages.push({
        index: stages.length,
        name: from.getBuildStage() ?? undefined,
        from: from.getImage() ?? "",
        platform: from.getPlatformFlag()?.getValue() ?? undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs: parsed.getInitialARGs(), stages };
}

/** The exec-form (JSON array) words of CMD, RUN or COPY; empty for the shell form. */
function execForm(instruction: Instruction): string[] {
  if (!(instruction instanceof JSONInstruction)) return [];
  return instruction.getJSONStrings().map((s) => s.getJSONValue());
}

/** The final stage's CMD as an exec-form array. */
export function cmdOf(stage: Stage): string[] {
  const cmd = stage.instructions.filter((i) => i.getKeyword() === "CMD").pop();
  if (cmd === undefined) throw new Error("the final stage has no CMD");
  const words = execForm(cmd);
  if (words.length === 0) throw new Error(`CMD must be in exec form, got ${cmd.toString()}`);
  return words;
}

/** The base image's repository, without tag or digest. */
function imageRepository(image: string): string {
  return image.replace(/@sha256:[0-9a-f]+$/, "").replace(/:[^/:]+$/, "");
}

/** $NAME and ${NAME} from the environment before this instruction, as Docker substitutes them. */
function substitute(value: string, env: Record<string, string>, line: number): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const found = env[name];
    if (found === undefined) throw new Error(`Dockerfile line ${line}: $${name} is not set`);
    return found;
  });
}

// .dockerignore ---------------------------------------------------------------------------------

/** Docker's .dockerignore rules (@balena/dockerignore, the matcher docker-modem uses). */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = ignore().add(text.split("\n"));
  return (path) => rules.ignores(path);
}

// Replay ----------------------------------------------------------------------------------------

export interface ReplayOptions {
  /** The build context (the repository root). */
  readonly context: string;
  /** An empty folder: each stage's filesystem is a subfolder. */
  readonly workDir: string;
  /** "amd64" or "arm64", as buildx sets TARGETARCH. */
  readonly targetArch: string;
  /** Extra environment for RUN (e.g. npm's offline-first cache setting). */
  readonly runEnv?: NodeJS.ProcessEnv;
  /**
   * A base image's programs for RUN in a stage on the target platform: image repository
   * (without tag) -> a folder put first on PATH (e.g. a Node of the image's major for the
   * Lambda image's node).
   */
  readonly imageTools?: Record<string, string>;
}

export interface StageResult {
  readonly stage: Stage;
  /** Folder standing in for the stage's "/". */
  readonly root: string;
  readonly env: Record<string, string>;
  readonly workdir: string;
  /** RUN instructions (their text) that needed the target platform's programs, not given. */
  readonly notReplayed: string[];
}

function listFiles(dir: string, base = ""): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((entry) => {
    const path = base === "" ? entry.name : `${base}/${entry.name}`;
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}

/** cp -a: several times faster than fs.cpSync on node_modules' thousands of small files. */
function copyTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  execFileSync("cp", ["-a", `${source}/.`, target]);
}

/**
 * Copies `source` (file or folder) to `target` as COPY does: a folder's contents, not itself.
 * `keep` filters a folder's files (the build context's .dockerignore); undefined keeps all.
 */
function copy(
  source: string,
  target: string,
  targetIsDir: boolean,
  keep?: (relPath: string) => boolean,
): number {
  if (!existsSync(source)) throw new Error(`COPY source not found: ${source}`);
  if (statSync(source).isDirectory() && keep === undefined) {
    copyTree(source, target);
    return readdirSync(source).length;
  }
  if (statSync(source).isDirectory()) {
    const files = listFiles(source).filter(keep ?? (() => true));
    for (const file of files) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      cpSync(join(source, file), join(target, file), { verbatimSymlinks: true });
    }
    return files.length;
  }
  const to = targetIsDir ? join(target, source.split("/").pop() as string) : target;
  mkdirSync(dirname(to), { recursive: true });
  cpSync(source, to);
  return 1;
}

/** Replays every stage for one target architecture; returns the stages' folders, in order. */
export function replay(dockerfile: Dockerfile, options: ReplayOptions): StageResult[] {
  const ignored = dockerignore(
    existsSync(join(options.context, ".dockerignore"))
      ? readFileSync(join(options.context, ".dockerignore"), "utf8")
      : "",
  );
  const platform = `linux/${options.targetArch}`;
  const buildPlatform = `linux/${process.arch === "x64" ? "amd64" : process.arch}`;
  const automatic: Record<string, string> = {
    TARGETARCH: options.targetArch,
    TARGETPLATFORM: platform,
    TARGETOS: "linux",
    BUILDPLATFORM: buildPlatform,
  };
  const results: StageResult[] = [];
  const byName = (name: string) =>
    results.find((r) => r.stage.name === name || String(r.stage.index) === name);

  for (const stage of dockerfile.stages) {
    const root = join(options.workDir, `stage-${stage.index}`);
    const parent = byName(stage.from);
    let env: Record<string, string>;
    let workdir: string;
    const notReplayed: string[] = [];
    // The base image's tools for RUN, or undefined when RUN cannot be replayed here.
    const onBuildPlatform = runsOnBuildPlatform(dockerfile, stage);
    const image = baseImage(dockerfile, stage);
    const tools = onBuildPlatform
      ? ""
      : platform === buildPlatform
        ? options.imageTools?.[imageRepository(image)]
        : undefined;
    if (parent !== undefined) {
      copyTree(parent.root, root);
      env = { ...parent.env };
      workdir = parent.workdir;
    } else {
      const known = BASE_IMAGE_ENV[imageRepository(stage.from)];
      if (known === undefined) {
        throw new Error(`unknown base image ${stage.from}: add the env it sets to BASE_IMAGE_ENV`);
      }
      mkdirSync(root, { recursive: true });
      env = { ...known };
      workdir = "/";
    }
    const at = (path: string) => join(root, posix.resolve(workdir, path));

    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const line = instruction.getRange().start.line + 1;
      const words = () => {
        const exec = execForm(instruction);
        const plain = exec.length > 0 ? exec : instruction.getArguments().map((a) => a.getValue());
        return plain.map((word) => substitute(word, env, line));
      };
      if (METADATA.has(keyword)) continue;
      switch (keyword) {
        case "ARG": {
          for (const property of (instruction as Arg).getProperties()) {
            const name = property.getName();
            const global = dockerfile.globalArgs
              .flatMap((g) => g.getProperties())
              .find((g) => g.getName() === name)
              ?.getValue();
            const resolved = automatic[name] ?? property.getValue() ?? global;
            if (resolved === undefined || resolved === null)
              throw new Error(`Dockerfile line ${line}: ARG ${name} has no value`);
            env[name] = resolved;
          }
          break;
        }
        case "WORKDIR":
          workdir = posix.resolve(workdir, words().join(" "));
          mkdirSync(join(root, workdir), { recursive: true });
          break;
        case "COPY": {
          const flags = (instruction as Copy).getFlags().map((f) => f.getName());
          const unknown = flags.filter((f) => !["from", "chown", "chmod", "link"].includes(f));
          if (unknown.length > 0) {
            throw new Error(
              `Dockerfile line ${line}: the contract test cannot replay COPY --${unknown.join(" --")}; ` +
                `teach __tests__/support/dockerfile.ts what it does`,
            );
          }
          const from = (instruction as Copy).getFromFlag()?.getValue() ?? undefined;
          const paths = words();
          const dest = paths.pop() as string;
          const targetIsDir = dest.endsWith("/") || paths.length > 1;
          for (const src of paths) {
            if (from !== undefined) {
              const source = byName(from);
              if (source === undefined)
                throw new Error(`Dockerfile line ${line}: no stage ${from}`);
              copy(join(source.root, posix.resolve("/", src)), at(dest), targetIsDir);
            } else {
              const rel = posix.normalize(src).replace(/\/+$/, "");
              const full = join(options.context, rel);
              const isDir = existsSync(full) && statSync(full).isDirectory();
              const copied =
                isDir || !ignored(rel)
                  ? copy(full, at(dest), targetIsDir, (file) => !ignored(`${rel}/${file}`))
                  : 0;
              if (copied === 0) {
                throw new Error(`Dockerfile line ${line}: ${src} is excluded by .dockerignore`);
              }
            }
          }
          break;
        }
        case "RUN": {
          if (tools === undefined) {
            notReplayed.push(instruction.toString());
            break;
          }
          // Exec form runs the program itself; shell form hands the whole command to /bin/sh.
          const exec = execForm(instruction);
          const [program, ...args] =
            exec.length > 0 ? exec : ["/bin/sh", "-c", instruction.getArgumentsContent() ?? ""];
          execFileSync(program as string, args, {
            cwd: join(root, workdir),
            env: {
              ...process.env,
              ...options.runEnv,
              ...env,
              PATH: [tools, env.PATH ?? process.env.PATH].filter(Boolean).join(":"),
            },
            stdio: ["ignore", "pipe", "pipe"],
            maxBuffer: 64 * 1024 * 1024,
          });
          break;
        }
        case "ENV":
          for (const property of (instruction as Env).getProperties()) {
            // As Docker does, $VARS refer to the environment before this instruction.
            env[property.getName()] = substitute(property.getValue() ?? "", env, line);
          }
          break;
        default:
          throw new Error(
            `Dockerfile line ${line}: the contract test cannot replay ${keyword}; teach ` +
              `__tests__/support/dockerfile.ts what it does`,
          );
      }
    }
    results.push({ stage, root, env, workdir, notReplayed });
  }
  return results;
}

/** The image a stage starts from, through the stages it builds on. */
function baseImage(dockerfile: Dockerfile, stage: Stage): string {
  const parent = dockerfile.stages.find((s) => s.index < stage.index && s.name === stage.from);
  return parent === undefined ? stage.from : baseImage(dockerfile, parent);
}

/** Whether a stage (or the stage it builds on) runs on the build machine: --platform=$BUILDPLATFORM. */
export function runsOnBuildPlatform(dockerfile: Dockerfile, stage: Stage): boolean {
  if (stage.platform !== undefined) return stage.platform === "$BUILDPLATFORM";
  const parent = dockerfile.stages.find((s) => s.index < stage.index && s.name === stage.from);
  return parent !== undefined && runsOnBuildPlatform(dockerfile, parent);
}

/** A stage folder's path for an absolute path inside that stage. */
export function inStage(result: StageResult, path: string): string {
  return join(result.root, relative("/", posix.resolve("/", path)));
}
