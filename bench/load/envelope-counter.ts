/**
 * `EnvelopeCounter` counts gRPC length-prefixed messages in a byte stream split at arbitrary
 * places, without buffering or copying: it reads each 5-byte prefix and skips the body. The
 * load generator uses it to count streamed messages at full speed.
 */

/** Where the counter stands between chunks. */
enum CounterState {
  /** Reading the 5-byte prefix (`headerRead` bytes of it so far). */
  Header,
  /** Skipping `bodyRemaining` bytes of a message body. */
  Body,
}

/**
 * Counts complete messages. `push(chunk)` returns how many messages the chunk completed;
 * `messages` is the running total, `compressedMessages` how many had the compressed flag set and
 * `midMessage` whether a message is cut off (true at the end of a stream means truncation).
 * Declared lengths are trusted up to 2^32-1; a flag byte other than 0 or 1 counts in `badFlags`.
 */
export class EnvelopeCounter {
  messages = 0;
  compressedMessages = 0;
  badFlags = 0;
  private state = CounterState.Header;
  private headerRead = 0;
  private length = 0;
  private bodyRemaining = 0;

  /** Whether the bytes so far end inside a message (or its prefix). */
  get midMessage(): boolean {
    return this.state === CounterState.Body || this.headerRead > 0;
  }

  /** Feeds one chunk; returns the number of messages it completed. */
  push(chunk: Uint8Array): number {
    const size = chunk.length;
    let offset = 0;
    let completed = 0;
    while (offset < size) {
      if (this.state === CounterState.Body) {
        const available = size - offset;
        if (available < this.bodyRemaining) {
          this.bodyRemaining -= available;
          break;
        }
        offset += this.bodyRemaining;
        this.bodyRemaining = 0;
        this.state = CounterState.Header;
        completed++;
        continue;
      }
      if (this.headerRead === 0 && size - offset >= 5) {
        // The whole prefix is in this chunk: the common case.
        this.flag(chunk[offset]);
        this.length = chunk[offset + 1] * 0x1000000 + ((chunk[offset + 2] << 16) | (chunk[offset + 3] << 8) | chunk[offset + 4]);
        offset += 5;
      } else {
        const byte = chunk[offset++];
        if (this.headerRead === 0) {
          this.flag(byte);
          this.length = 0;
        } else {
          this.length = this.length * 256 + byte;
        }
        if (++this.headerRead < 5) continue;
        this.headerRead = 0;
      }
      if (this.length === 0) completed++;
      else {
        this.bodyRemaining = this.length;
        this.state = CounterState.Body;
      }
    }
    this.messages += completed;
    return completed;
  }

  private flag(byte: number): void {
    if (byte === 1) this.compressedMessages++;
    else if (byte !== 0) this.badFlags++;
  }
}
