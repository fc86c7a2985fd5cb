import { ExpiryQueue } from '../../lib/server/expiry-queue.js';

describe('ExpiryQueue', () => {
  it('expires each item its delay after it was added, oldest first, except those deleted in time', async () => {
    const queue = new ExpiryQueue<{ name: string; expire(): void }>(40);
    const expired: Array<{ name: string; at: number }> = [];
    const started = Date.now();
    let finished: () => void = () => undefined;
    const allDone = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const item = (name: string, onExpire?: () => void) => ({
      name,
      expire() {
        expired.push({ name, at: Date.now() - started });
        onExpire?.();
      },
    });
    const last = item('d', () => finished());
    // 'c' is added while 'a' expires, so it is due a full delay later, after 'd' was deleted and re-added.
    const c = item('c');
    const a = item('a', () => {
      queue.add(c);
      queue.add(last);
    });
    const b = item('b');
    queue.add(a);
    queue.add(b);
    queue.add(last);
    queue.delete(b);
    queue.delete(last);
    await allDone;
    expect(expired.map((entry) => entry.name)).toEqual(['a', 'c', 'd']);
    expect(expired[0].at).toBeGreaterThanOrEqual(39);
    expect(expired[1].at - expired[0].at).toBeGreaterThanOrEqual(39);
  });
});
