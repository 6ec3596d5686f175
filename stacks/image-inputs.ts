/**
 * The files the container image is built from, and one hash over them. The deploy rebuilds and
 * pushes the image only when this hash changes (see LambdaStack's image-build resource).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, sep } from "node:path";

/** Files and folders (relative to the project root) the image is built from: keep in step with
 * the Dockerfile's COPY lines and .dockerignore. */
export const IMAGE_INPUTS = [
  "Dockerfile",
  ".dockerignore",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "handler",
] as const;

function listFiles(root: string, entry: string): string[] {
  const full = join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full)
    .sort()
    .flatMap((child) => listFiles(root, join(entry, child)));
}

/** sha256 (hex) over the image inputs' paths and contents, in a stable order. */
export function hashImageInputs(projectRoot: string): string {
  const hash = createHash("sha256");
  const files = IMAGE_INPUTS.flatMap((entry) => listFiles(projectRoot, entry)).sort();
  for (const file of files) {
    hash.update(`${file.split(sep).join("/")}\0`);
    hash.update(readFileSync(join(projectRoot, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}
