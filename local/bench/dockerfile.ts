/**
 * Reads what ships from the Dockerfile, so the benchmark measures the image's settings rather
 * than a copy of them that could drift: the esbuild arguments of the build stage and the
 * environment the runtime stage sets.
 */

/** The arguments after the esbuild command in the Dockerfile's RUN line that invokes it. */
export function dockerfileEsbuildArgs(dockerfile: string): string[] {
  const line = instructions(dockerfile).find((l) => /^RUN\b/.test(l) && /\besbuild\b/.test(l));
  if (!line) throw new Error("no esbuild command found in the Dockerfile");
  // `npx --yes "esbuild@$(...version...)" <args>`, or plainly `esbuild <args>`.
  const rest = line.includes(')"')
    ? line.slice(line.lastIndexOf(')"') + 2)
    : line.slice(line.search(/\besbuild\b/) + "esbuild".length);
  return rest.trim().split(/\s+/);
}

/** The `ENV name=value` settings of the final (runtime) stage; plain values only. */
export function dockerfileRuntimeEnv(dockerfile: string): Record<string, string> {
  const all = instructions(dockerfile);
  const runtime = all.slice(all.map((l) => /^FROM\b/i.test(l)).lastIndexOf(true) + 1);
  const env: Record<string, string> = {};
  for (const line of runtime.filter((l) => /^ENV\b/i.test(l))) {
    for (const word of line.slice(3).trim().split(/\s+/)) {
      const match = /^(\w+)=([^"'$\s]*)$/.exec(word);
      if (!match) throw new Error(`Dockerfile: cannot read "${line}" (expected ENV NAME=value)`);
      env[match[1] as string] = match[2] as string;
    }
  }
  return env;
}

/** Instructions, one per string: continuations joined, comments and blank lines dropped. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}
