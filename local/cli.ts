/**
 * The `thumbnailer` command (bin/thumbnailer.js): dispatches to a subcommand module whose
 * entry point takes the remaining arguments and resolves to the exit code.
 * Exit codes: 0 success, 1 some work failed, 2 usage error.
 */

import path from "node:path";

type Run = (args: string[]) => Promise<number>;

/** Loaded on demand: `make` should not pay for s3rver, `serve` not for the benchmark corpus. */
const COMMANDS: Record<string, { summary: string; load: () => Run }> = {
  make: {
    summary: "make thumbnails of local image files and folders",
    load: () => (require("./make") as { run: Run }).run,
  },
  serve: {
    summary: "run the pipeline on a local S3-compatible server (npm start)",
    load: () => (require("./serve") as { run: Run }).run,
  },
  backfill: {
    summary:
      "make the thumbnails of objects already in the bucket (direct, or S3 Batch Operations)",
    load: () => (require("./backfill") as { run: Run }).run,
  },
  bench: {
    summary: "measure the engine and the pipeline (npm run bench)",
    // Resolved at run time so that a build without local/bench still runs the other commands.
    load: () => (require(path.join(__dirname, "bench")) as { main: Run }).main,
  },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(
    ([name, { summary }]) => `  ${name.padEnd(10)}${summary}`,
  );
  return `Usage: thumbnailer <command> [options]

Commands:
${lines.join("\n")}

Run \`thumbnailer <command> --help\` for a command's options.
`;
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help());
    return;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    const problem = name === undefined ? "no command given" : `unknown command "${name}"`;
    process.stderr.write(`thumbnailer: ${problem}\n\n${help()}`);
    process.exitCode = 2;
    return;
  }
  let run: Run;
  try {
    run = command.load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | undefined)?.code !== "MODULE_NOT_FOUND") throw error;
    process.stderr.write(`thumbnailer: the "${name}" command is not available in this build\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await run(args);
}
