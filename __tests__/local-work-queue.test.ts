/** The local service's bounded work queue (unit, no network). */

import { WorkQueue } from "../cli/serve/work-queue";

interface Item {
  key: string;
  id: number;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A queue whose items finish when the test says so; records what ran, in order. */
function controlledQueue(capacity: number, concurrency: number) {
  const started: number[] = [];
  const gates = new Map<number, () => void>();
  let maxRunning = 0;
  const queue = new WorkQueue<Item>({
    capacity,
    concurrency,
    keyOf: (item) => item.key,
    run: async (item) => {
      started.push(item.id);
      maxRunning = Math.max(maxRunning, queue.size.running);
      const gate = deferred();
      gates.set(item.id, gate.resolve);
      await gate.promise;
    },
    onError: () => undefined,
  });
  const finish = async (id: number): Promise<void> => {
    gates.get(id)?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { queue, started, finish, maxRunning: () => maxRunning };
}

describe("WorkQueue", () => {
  it("runs at most `concurrency` items and refuses offers beyond `capacity` waiting", () => {
    const { queue, started } = controlledQueue(2, 2);

    const accepted = [1, 2, 3, 4, 5].map((id) => queue.offer({ key: `k${id}`, id }));

    expect(accepted).toEqual([true, true, true, true, false]);
    expect(started).toEqual([1, 2]);
    expect(queue.size).toEqual({ waiting: 2, running: 2 });
  });

  it("never runs two items with the same key at once, and keeps their order", async () => {
    const { queue, started, finish } = controlledQueue(10, 4);

    queue.offer({ key: "a", id: 1 });
    queue.offer({ key: "a", id: 2 });
    queue.offer({ key: "b", id: 3 });
    queue.offer({ key: "a", id: 4 });
    expect(started).toEqual([1, 3]);

    await finish(1);
    expect(started).toEqual([1, 3, 2]);
    await finish(2);
    expect(started).toEqual([1, 3, 2, 4]);
  });

  it("holds put() back until there is room", async () => {
    const { queue, finish } = controlledQueue(1, 1);
    queue.offer({ key: "a", id: 1 });
    queue.offer({ key: "b", id: 2 });
    let placed = false;

    const putting = queue.put({ key: "c", id: 3 }).then((ok) => {
      placed = ok;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(placed).toBe(false);

    await finish(1);
    await putting;
    expect(placed).toBe(true);
  });

  it("close() drops the waiting items, waits for the running ones and reports the drop", async () => {
    const { queue, finish } = controlledQueue(10, 1);
    for (const id of [1, 2, 3]) queue.offer({ key: `k${id}`, id });

    const closing = queue.close();
    await finish(1);

    await expect(closing).resolves.toBe(2);
    expect(queue.offer({ key: "late", id: 4 })).toBe(false);
  });
});
