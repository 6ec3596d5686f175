/**
 * The tags a deployment records on an image (scripts/push-image.sh, through ops/image-tags.ts):
 * inputs-<arch>-HASH, the image inputs it holds, and commit-<arch>-SHA, the commit that holds
 * them; <arch> is the docker architecture, amd64 or arm64. The deploy workflow tags an image
 * with its commit alone. Only this file spells them; it imports nothing, so the rollout guard
 * reads tags without loading the stacks.
 */
export const INPUTS_PREFIX = "inputs-";
export const COMMIT_PREFIX = "commit-";

/** A commit tag, or the commit itself (the deploy workflow's tag); group 1 is the commit. */
const COMMIT_IN_TAG = new RegExp(`^(?:${COMMIT_PREFIX}[a-z0-9]+-)?([0-9a-f]{40})$`);

/** The commits an image's tags name, in tag order. */
export function commitsInTags(tags: readonly string[]): string[] {
  return tags.flatMap((tag) => COMMIT_IN_TAG.exec(tag)?.[1] ?? []);
}

/** The commit an image was built from, by its tags (the first its tags name). */
export function commitOf(tags: readonly string[]): string | undefined {
  return commitsInTags(tags)[0];
}
