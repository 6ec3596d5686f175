/**
 * The handler bundle's esbuild options (written once, in scripts/bundle.js) for the tools that
 * need the bundle without Docker: the benchmark builds it for the Node it measures, and the
 * image-input hash lists the files it is built from.
 */
import { join } from "node:path";
import { type BuildOptions, build, buildSync } from "esbuild";

/** scripts/bundle.js's options, from the project at `projectRoot`. */
export function bundleOptions(projectRoot: string): BuildOptions {
  const script = require(join(projectRoot, "scripts", "bundle.js")) as {
    BUNDLE_OPTIONS: BuildOptions;
  };
  return { ...script.BUNDLE_OPTIONS, absWorkingDir: projectRoot };
}

/**
 * The project's own files esbuild reads to make the bundle (its metafile inputs, relative to
 * `projectRoot`, "/"-separated), sorted; packages from node_modules are left out (the lockfile
 * pins them).
 */
export function bundleInputs(projectRoot: string): string[] {
  const { metafile } = buildSync({
    ...bundleOptions(projectRoot),
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return Object.keys(metafile.inputs)
    .filter((input) => !input.split("/").includes("node_modules"))
    .sort();
}

/** Builds the bundle to `outfile` for another Node major (the bench's cold start). */
export async function buildBundle(
  projectRoot: string,
  changes: { outfile: string; target: string },
): Promise<void> {
  await build({ ...bundleOptions(projectRoot), ...changes });
}
