/**
 * What every ops tool's command line shares: its options (node:util parseArgs, --help) and how
 * it ends, with its exit code or, on an error, one line saying why on stderr (the message alone
 * for our own errors, the SDK's error name too for the SDK's) and exit 1.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { describeError } from "./aws";

/** Thrown for a wrong command line: the tool prints its usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The options of `args` (--help/-h always among them); a wrong option is a UsageError. */
export function parseOptions<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Runs `main` on the command line; `usage` is printed for --help (the caller) and wrong usage. */
export function runTool(main: (args: string[]) => Promise<number>, usage = ""): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${usage}\nerror: ${error.message}\n`);
        process.exitCode = 2;
        return;
      }
      const plain = error instanceof Error && error.constructor === Error;
      console.error(`\nerror: ${plain ? error.message : describeError(error)}`);
      process.exitCode = 1;
    },
  );
}

/** An error's message alone (a tool's own errors say what to do in it). */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * Runs the ops tool `name` (dist/ops/NAME.js, called by scripts/) on the command line: its exit
 * status, or, when it throws, "NAME: <what `say` makes of the error>" on stderr and status 1.
 */
export function runNamed(
  name: string,
  main: (args: string[]) => Promise<number> | number,
  say: (error: unknown) => string = describeError,
): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        console.error(`${name}: ${say(error)}`);
        process.exitCode = 1;
      },
    );
}
