/**
 * The files the container image is built from, and one hash over them. The deploy rebuilds and
 * pushes the image only when this hash changes (see LambdaStack's image-build resource).
 *
 * The image holds the production node_modules (package.json, package-lock.json) and the handler
 * bundle (scripts/bundle.js's options over the files esbuild reads). So the inputs are: the
 * Dockerfile and .dockerignore; every build-context file the Dockerfile COPYs; and of a folder it
 * COPYs (handler/), only the files in esbuild's metafile. A change anywhere else (cli/, ops/, bench/,
 * tests, docs, a handler/ file the bundle does not import) never rebuilds or redeploys.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { type Copy, DockerfileParser } from "dockerfile-ast";
import { bundleInputs } from "./bundle";

/** The build-context paths the Dockerfile's COPY instructions name (not those --from a stage). */
function copiedFromContext(dockerfile: string): string[] {
  const copies = DockerfileParser.parse(dockerfile)
    .getInstructions()
    .filter((i): i is Copy => i.getKeyword() === "COPY")
    .filter((copy) => copy.getFromFlag() === null);
  return copies.flatMap((copy) => {
    const json = copy.getJSONStrings().map((s) => s.getJSONValue());
    const words = json.length > 0 ? json : copy.getArguments().map((a) => a.getValue());
    const sources = words.slice(0, -1).filter((w) => !w.startsWith("--"));
    for (const source of sources) {
      if (/[*?[$]/.test(source)) {
        throw new Error(
          `Dockerfile: COPY ${source}: the image-input hash (stacks/image-inputs.ts) needs plain paths, no wildcards or variables`,
        );
      }
    }
    return sources.map((source) => posix.normalize(source).replace(/\/+$/, ""));
  });
}

/** The image's inputs, relative to the project root, "/"-separated, sorted. */
export function imageInputs(projectRoot: string): string[] {
  const copied = copiedFromContext(readFileSync(join(projectRoot, "Dockerfile"), "utf8"));
  const folders = copied.filter((path) => {
    const full = join(projectRoot, path);
    return existsSync(full) && statSync(full).isDirectory();
  });
  const inFolders = bundleInputs(projectRoot).filter((input) =>
    folders.some((folder) => input.startsWith(`${folder}/`)),
  );
  const files = ["Dockerfile", ".dockerignore", ...copied.filter((p) => !folders.includes(p))];
  return [...new Set([...files, ...inFolders])]
    .filter((path) => existsSync(join(projectRoot, path)))
    .sort();
}

/** sha256 (hex) over the image inputs' paths and contents, in a stable order. */
export function hashImageInputs(
  projectRoot: string,
  inputs: readonly string[] = imageInputs(projectRoot),
): string {
  const hash = createHash("sha256");
  for (const file of inputs) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(projectRoot, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}
