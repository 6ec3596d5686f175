/**
 * The `thumbnailer` command (bin/thumbnailer.js): dispatches to a subcommand module, each of
 * which exports `run(args): Promise<number>` (the exit code) and `summary` (one line for help).
 * Exit codes: 0 success, 1 some work failed, 2 usage error.
 */

import path from "node:path";

interface Command {
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

/** Loaded on demand: `make` should not pay for s3rver, `serve` not for the benchmark corpus. */
const COMMANDS: Record<string, () => Command> = {
  make: () => require("./make") as Command,
  serve: () => require("./serve") as Command,
  // local/bench exports main(argv); resolved at run time so a build without it still works.
  bench: () => {
    const bench = require(path.join(__dirname, "bench")) as {
      main(args: string[]): Promise<number>;
    };
    return { summary: "measure the engine and the pipeline (npm run bench)", run: bench.main };
  },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, load]) => {
    let summary: string;
    try {
      summary = load().summary;
    } catch {
      summary = "(not available in this build)";
    }
    return `  ${name.padEnd(8)}${summary}`;
  });
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
  const load = name === undefined ? undefined : COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(
      `${name === undefined ? "thumbnailer: no command given" : `thumbnailer: unknown command "${name}"`}\n\n${help()}`,
    );
    process.exitCode = 2;
    return;
  }
  let command: Command;
  try {
    command = load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | undefined)?.code !== "MODULE_NOT_FOUND") throw error;
    process.stderr.write(`thumbnailer: the "${name}" command is not available in this build\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await command.run(args);
}
