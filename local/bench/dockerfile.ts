/**
 * Reads what ships from the Dockerfile, so the benchmark measures the image's settings rather
 * than a copy of them that could drift: the esbuild arguments of the build stage and the
 * environment the runtime stage sets.
 */
import { envAssignments, parseDockerfile } from "../dockerfile";

/** The arguments after the esbuild command in the Dockerfile's RUN instruction that invokes it. */
export function dockerfileEsbuildArgs(dockerfile: string): string[] {
  const run = parseDockerfile(dockerfile)
    .stages.flatMap((stage) => stage.instructions)
    .find((i) => i.keyword === "RUN" && /\besbuild\b/.test(i.args));
  if (!run) throw new Error("no esbuild command found in the Dockerfile");
  // `npx --yes "esbuild@$(...version...)" <args>`, or plainly `esbuild <args>`.
  const line = run.args;
  const rest = line.includes(')"')
    ? line.slice(line.lastIndexOf(')"') + 2)
    : line.slice(line.search(/\besbuild\b/) + "esbuild".length);
  return rest.trim().split(/\s+/);
}

/** The `ENV name=value` settings of the final (runtime) stage. */
export function dockerfileRuntimeEnv(dockerfile: string): Record<string, string> {
  const runtime = parseDockerfile(dockerfile).stages.at(-1);
  const env: Record<string, string> = {};
  for (const i of runtime?.instructions ?? []) {
    if (i.keyword === "ENV") Object.assign(env, envAssignments(i.args, env, i.line));
  }
  return env;
}
