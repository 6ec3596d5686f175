import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { walkFiles } from "../walk-files";

/** What s3rver keeps next to each object, and how to tell that a copy of it is intact. */
const SIDE_FILES: { suffix: string; intact: (text: string) => boolean }[] = [
  { suffix: "._S3rver_metadata.json", intact: isJsonObject },
  { suffix: "._S3rver_object.md5", intact: (text) => /^[0-9a-f]{32}$/.test(text) },
  // tagging, cors, website: a complete document ends with its root's closing tag
  { suffix: ".xml", intact: (text) => /^\s*<[\s\S]*<\/[\w:]+>\s*$/.test(text) },
];

/**
 * Removes the side files a killed s3rver (or a killed copy of this service from before its store
 * was made atomic) can leave behind: an empty or truncated metadata.json makes every listing of
 * the bucket fail, a bad .md5 gives a wrong ETag, a truncated tagging .xml breaks GetObjectTagging.
 * The objects themselves stay: without metadata they read as binary/octet-stream with no user
 * metadata, which the reconciler treats as "no up-to-date thumbnail" and redoes.
 * Returns the paths it removed, for the log.
 */
export async function repairStore(storeDir: string): Promise<string[]> {
  const removed: string[] = [];
  if (!existsSync(storeDir)) return removed;
  for await (const file of walkFiles(storeDir, { includeHidden: true })) {
    const kind =
      file.includes("._S3rver_") && SIDE_FILES.find(({ suffix }) => file.endsWith(suffix));
    if (!kind) continue;
    const text = await readFile(file, "utf8");
    if (kind.intact(text)) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}
