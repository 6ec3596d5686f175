/**
 * The project's Node.js policy (README "Node.js"), in one place: the Lambda runs the Dockerfile's
 * Node (24); the laptop tools are supported on Node 22 and 24; Node 20.15+ still runs them until
 * the AWS SDK's releases of January 2027 drop it, with a notice instead of the SDK's warning.
 */

/** The oldest Node.js major the laptop tools support (the AWS SDK's floor from January 2027). */
export const SUPPORTED_NODE_MAJOR = 22;

/** A one-line notice for a Node.js that is past end of life, or undefined when it is supported. */
export function nodeNotice(version: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, ""), 10);
  if (major >= SUPPORTED_NODE_MAJOR) return undefined;
  return (
    `Node.js ${version} is past end of life and the AWS SDK's releases after early January 2027 ` +
    `need Node ${SUPPORTED_NODE_MAJOR}+: use Node ${SUPPORTED_NODE_MAJOR} or 24 (the Lambda runs 24)`
  );
}

/**
 * Replaces the AWS SDK's multi-line NodeVersionSupportWarning with the project's own notice (the
 * SDK's documented switch silences only that warning), so a long-running command's banner comes
 * first. Returns the notice to show, if any.
 */
export function takeOverNodeWarning(env: NodeJS.ProcessEnv, version: string): string | undefined {
  const notice = nodeNotice(version);
  if (notice !== undefined) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  return notice;
}
