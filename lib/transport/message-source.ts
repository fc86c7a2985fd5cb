/**
 * The receiving side of a message stream, handed to user code: an RxJS Observable that is
 * also async-iterable. Iterating applies backpressure (the HTTP/2 stream is paused while
 * unread messages pile up); subscribing takes messages as fast as they arrive.
 */
import { Observable, type Subscriber } from 'rxjs';

/**
 * An Observable of messages that can also be consumed with `for await`. It has one consumer: a
 * second subscription or iteration errors. When a server call ends abnormally (cancelled, past
 * its deadline, shut down, a bad request message), iteration throws the reason while a
 * subscriber is completed; the handler's `ctx.signal` tells the two endings apart.
 */
export type MessageStream<T> = Observable<T> & AsyncIterable<T>;

/** How a source steers the transport beneath it. */
export interface FlowControl {
  /** Stop reading from the network. */
  pause(): void;
  /** Read from the network again. */
  resume(): void;
  /** The consumer is gone (unsubscribed or stopped iterating) before the stream ended. */
  release(): void;
}

enum SourceState {
  Open,
  Ended,
  Failed,
}

/**
 * Messages queued between the transport (which pushes) and one consumer (which subscribes or
 * iterates). Up to `highWaterMark` messages (default 16) are held before the transport is
 * paused. `end()` and `fail(error)` settle it; later pushes are dropped.
 */
export class MessageSource<T> {
  private queue: T[] = [];
  private head = 0;
  private state = SourceState.Open;
  private error: unknown;
  /** Set by `abort`: a failure that completes subscribers instead of erroring them. */
  private completesSubscribers = false;
  private subscriber: Subscriber<T> | undefined;
  private waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private consumed = false;
  private paused = false;
  private released = false;

  /** The stream handed to user code. */
  readonly stream: MessageStream<T>;

  constructor(
    private readonly flow: FlowControl,
    private readonly highWaterMark = 16,
  ) {
    const observable = new Observable<T>((subscriber) => this.attach(subscriber)) as MessageStream<T>;
    observable[Symbol.asyncIterator] = () => this.iterate();
    this.stream = observable;
  }

  /** Whether it ended or failed. */
  get settled(): boolean {
    return this.state !== SourceState.Open;
  }

  /** Delivers a message to the consumer, or queues it. */
  push(message: T): void {
    if (this.state !== SourceState.Open || this.released) return;
    if (this.subscriber !== undefined) {
      this.subscriber.next(message);
      return;
    }
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: message, done: false });
      return;
    }
    this.queue.push(message);
    if (!this.paused && this.queue.length - this.head >= this.highWaterMark) {
      this.paused = true;
      this.flow.pause();
    }
  }

  /** Marks the normal end of the stream. */
  end(): void {
    if (this.state !== SourceState.Open) return;
    this.state = SourceState.Ended;
    this.settle();
  }

  /** Ends the stream with an error. */
  fail(error: unknown): void {
    if (this.state !== SourceState.Open) return;
    this.state = SourceState.Failed;
    this.error = error;
    this.settle();
  }

  /**
   * Ends the stream because the call it belongs to ended abnormally (cancelled, past its
   * deadline, shut down, or a bad message): iteration throws `error`, but an Observable
   * subscriber is completed, as Nest's own gRPC transport does. rxjs rethrows an error its
   * subscriber has no handler for as an uncaught exception, so erroring subscribers would let
   * any client crash the process by cancelling a call; the call's AbortSignal says why it ended.
   */
  abort(error: unknown): void {
    if (this.state !== SourceState.Open) return;
    this.completesSubscribers = true;
    this.fail(error);
  }

  private settle(): void {
    if (this.subscriber !== undefined && this.head >= this.queue.length) {
      if (this.state === SourceState.Failed && !this.completesSubscribers) this.subscriber.error(this.error);
      else this.subscriber.complete();
    }
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (this.state === SourceState.Failed) waiter.reject(this.error);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  private claim(): void {
    if (this.consumed) throw new Error('A gRPC message stream can be consumed only once');
    this.consumed = true;
  }

  private attach(subscriber: Subscriber<T>): () => void {
    try {
      this.claim();
    } catch (error) {
      subscriber.error(error);
      return () => undefined;
    }
    while (this.head < this.queue.length && !subscriber.closed) subscriber.next(this.take());
    if (this.state === SourceState.Failed && !this.completesSubscribers) subscriber.error(this.error);
    else if (this.state !== SourceState.Open) subscriber.complete();
    else {
      this.subscriber = subscriber;
      this.resumeFlow();
    }
    return () => {
      const wasActive = this.subscriber !== undefined && this.state === SourceState.Open;
      this.subscriber = undefined;
      if (wasActive) this.release();
    };
  }

  private take(): T {
    const message = this.queue[this.head];
    this.queue[this.head] = undefined as T;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return message;
  }

  private resumeFlow(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flow.resume();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.queue = [];
    this.head = 0;
    this.resumeFlow();
    this.flow.release();
  }

  private iterate(): AsyncIterator<T> {
    this.claim();
    return {
      next: () => {
        if (this.head < this.queue.length) {
          const value = this.take();
          if (this.queue.length - this.head < this.highWaterMark / 2) this.resumeFlow();
          return Promise.resolve({ value, done: false });
        }
        if (this.state === SourceState.Failed) return Promise.reject(this.error);
        if (this.state === SourceState.Ended || this.released) return Promise.resolve({ value: undefined, done: true });
        this.resumeFlow();
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      return: () => {
        if (this.state === SourceState.Open) this.release();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
