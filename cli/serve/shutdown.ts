import { describeError } from "../../handler/errors";
import type { Logger } from "../../handler/log";

/**
 * Waits for SIGINT or SIGTERM, then runs `stop` (finish the uploads in progress) and resolves
 * with the exit code: 0, or 1 when the stop failed. A second signal exits at once with 130;
 * reconciliation at the next start redoes what was left unfinished.
 */
export function stopOnSignal(log: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.log("warn", {
          msg: "second signal: exiting now; reconciliation redoes unfinished work",
          signal,
        });
        process.exit(130);
      }
      stopping = true;
      log.log("info", { msg: "stopping: finishing the uploads in progress", signal });
      stop().then(
        () => resolve(0),
        (error: unknown) => {
          log.log("error", { msg: "unclean stop", ...describeError(error) });
          resolve(1);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
