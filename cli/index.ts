/**
 * The `thumbnailer` command (bin/thumbnailer.js): dispatches to a subcommand module whose
 * entry point takes the remaining arguments and resolves to the exit code.
 * Exit codes: 0 success, 1 some work failed, 2 usage error.
 */

type Run = (args: string[]) => Promise<number>;

/** Loaded on demand: `make` should not pay for s3rver, nor `serve` for S3 Batch Operations. */
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
  process.exitCode = await command.load()(args);
}
