/**
 * Talks to a long-lived benchmark worker over a line protocol: one JSON request per line on
 * its stdin, one JSON reply per line on its stdout. Keeping the worker alive means per-image
 * numbers exclude process start (measured separately by the cold-start benchmark).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface WorkerReply {
  ms?: number;
  cpuMs?: number;
  bytes?: number;
  width?: number;
  height?: number;
  maxRssKb?: number;
  ready?: boolean;
  settings?: Record<string, string | number>;
  error?: string;
}

export class WorkerClient {
  private readonly child: ChildProcess;
  private readonly pending: ((reply: WorkerReply) => void)[] = [];
  private stderr = "";
  private exited = false;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let reply: WorkerReply;
      try {
        reply = JSON.parse(line) as WorkerReply;
      } catch {
        return; // stray output (a library printing to stdout) is not a reply
      }
      this.pending.shift()?.(reply);
    });
    this.child.on("exit", (code) => {
      this.exited = true;
      const error = `worker ${command} exited (${code}): ${this.stderr.trim().slice(-500)}`;
      for (const resolve of this.pending.splice(0)) resolve({ error });
    });
    this.child.on("error", (err) => {
      this.exited = true;
      for (const resolve of this.pending.splice(0)) resolve({ error: err.message });
    });
  }

  /** The worker's first line: it says it is ready (modules loaded) and its settings. */
  ready(): Promise<WorkerReply> {
    return new Promise((resolve) => {
      if (this.exited) resolve({ error: `worker exited: ${this.stderr.trim()}` });
      else this.pending.push(resolve);
    });
  }

  request(message: Record<string, unknown>): Promise<WorkerReply> {
    return new Promise((resolve) => {
      if (this.exited) {
        resolve({ error: `worker exited: ${this.stderr.trim().slice(-500)}` });
        return;
      }
      this.pending.push(resolve);
      this.child.stdin?.write(`${JSON.stringify(message)}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await done;
    clearTimeout(timer);
  }
}
