/**
 * How an ops tool's `main` ends: its exit code, or on an error one line saying why on stderr
 * (the message alone for our own errors, the SDK's error name too for the SDK's) and exit 1.
 */
import { describeError } from "./aws";

export function runTool(main: (args: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const plain = error instanceof Error && error.constructor === Error;
      console.error(`\nerror: ${plain ? error.message : describeError(error)}`);
      process.exitCode = 1;
    },
  );
}
