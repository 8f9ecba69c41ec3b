/**
 * UUID version 4 (RFC 9562 §5.4): 122 random bits, version nibble 4, variant `10`.
 * Random bytes come from a pool (16 bytes per UUID) and are formatted through a byte →
 * hex table, which is what makes this fast enough to sit on a request path.
 */
import { DEFAULT_POOL_BYTES, RandomPool, type RandomSource } from "./RandomPool.ts"
import { HEX2 } from "./UuidText.ts"

export interface Options {
  /** Bytes drawn from the random source at a time. */
  readonly poolBytes?: number
}

export class UuidV4Generator {
  private readonly pool: RandomPool

  constructor(random: RandomSource, options: Options = {}) {
    this.pool = new RandomPool(random, options.poolBytes ?? DEFAULT_POOL_BYTES)
  }

  next(): string {
    const p = this.pool.reserve(16)
    const b = this.pool.bytes
    return HEX2[b[p]!]! + HEX2[b[p + 1]!] + HEX2[b[p + 2]!] + HEX2[b[p + 3]!] + "-" +
      HEX2[b[p + 4]!] + HEX2[b[p + 5]!] + "-" +
      HEX2[(b[p + 6]! & 0x0f) | 0x40] + HEX2[b[p + 7]!] + "-" +
      HEX2[(b[p + 8]! & 0x3f) | 0x80] + HEX2[b[p + 9]!] + "-" +
      HEX2[b[p + 10]!] + HEX2[b[p + 11]!] + HEX2[b[p + 12]!] + HEX2[b[p + 13]!] + HEX2[b[p + 14]!] +
      HEX2[b[p + 15]!]
  }
}

export const make = (random: RandomSource, options?: Options): UuidV4Generator => new UuidV4Generator(random, options)
