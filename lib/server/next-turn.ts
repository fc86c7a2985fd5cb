/**
 * `deferToNextTurn`: runs a step on the next turn of the event loop, after the I/O already read
 * has been processed, with one `setImmediate` shared by every step deferred in the same turn.
 */

/** Something to run on the next turn. */
export interface Deferred {
  runDeferred(): void;
}

let queue: Deferred[] = [];

function flush(): void {
  const batch = queue;
  queue = [];
  for (const step of batch) {
    try {
      step.runDeferred();
    } catch (error) {
      // One step's failure must not drop the others; it still surfaces as an uncaught exception.
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

/**
 * Calls `step.runDeferred()` once, as a `setImmediate` callback would run it: after the frames
 * already received in this turn have been handled. Steps deferred in the same turn share one
 * immediate and run in the order they were deferred; a step deferred while the batch runs goes
 * to the next turn. A step that throws does not stop the others.
 */
export function deferToNextTurn(step: Deferred): void {
  if (queue.length === 0) setImmediate(flush);
  queue.push(step);
}
