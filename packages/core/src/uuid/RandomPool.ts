/**
 * Pooled random bytes for the UUID generators.
 *
 * `crypto.getRandomValues` has a fixed per-call cost that dwarfs the 6–16 bytes one UUID
 * needs, so bytes are drawn in chunks (16 KiB by default) and handed out by offset.
 * The source is injected so the core stays free of I/O and tests can be deterministic;
 * the server passes `(b) => crypto.getRandomValues(b)`.
 */

/** Fills `bytes` with random bytes (a CSPRNG in production). */
export type RandomSource = (bytes: Uint8Array) => void

export const DEFAULT_POOL_BYTES = 16 * 1024
/** `crypto.getRandomValues` refuses more than 65 536 bytes per call. */
export const MAX_POOL_BYTES = 65_536

export class RandomPool {
  /** The pool; read `bytes[offset … offset + n - 1]` after `reserve(n)` returned `offset`. */
  readonly bytes: Uint8Array
  private pos: number
  private readonly source: RandomSource

  constructor(source: RandomSource, size: number = DEFAULT_POOL_BYTES) {
    if (!(Number.isInteger(size) && size >= 16 && size <= MAX_POOL_BYTES)) {
      throw new RangeError(`pool size must be an integer in 16..${MAX_POOL_BYTES}: ${size}`)
    }
    this.source = source
    this.bytes = new Uint8Array(size)
    // Empty until first use: no randomness is drawn by merely constructing a generator.
    this.pos = size
  }

  /**
   * Reserves `n` (≤ 16) unused bytes and returns their offset in `bytes`. Each byte is
   * handed out once; the pool refills from the source when it runs short.
   */
  reserve(n: number): number {
    let p = this.pos
    if (p + n > this.bytes.length) {
      this.source(this.bytes)
      p = 0
    }
    this.pos = p + n
    return p
  }

  /** Four fresh bytes as an unsigned 32-bit integer. */
  uint32(): number {
    const p = this.reserve(4)
    const b = this.bytes
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0
  }
}
