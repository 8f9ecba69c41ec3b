/**
 * A set of 64-bit keys, each given as two unsigned 32-bit halves, in typed arrays with
 * open addressing (linear probing): 9 bytes a slot, no object per key, so ten million IDs
 * cost about 150 MB instead of the gigabytes a `Set<string>` would take. Grows by doubling
 * at a load factor of 0.7.
 */
const MAX_LOAD = 0.7

export class KeySet {
  private hi: Uint32Array
  private lo: Uint32Array
  private used: Uint8Array
  private mask: number
  size = 0

  constructor(initialCapacity = 1 << 16) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)))
    this.hi = new Uint32Array(capacity)
    this.lo = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.mask = capacity - 1
  }

  /** Adds the key; false when it was already there. */
  add(hi: number, lo: number): boolean {
    if (this.size + 1 > (this.mask + 1) * MAX_LOAD) this.grow()
    const h = this.hi
    const l = this.lo
    const used = this.used
    let slot = slotOf(hi, lo) & this.mask
    while (used[slot] === 1) {
      if (h[slot] === hi && l[slot] === lo) return false
      slot = (slot + 1) & this.mask
    }
    used[slot] = 1
    h[slot] = hi
    l[slot] = lo
    this.size++
    return true
  }

  /** Bytes held by the arrays. */
  get bytes(): number {
    return (this.mask + 1) * 9
  }

  private grow() {
    const { hi, lo, used } = this
    const capacity = (this.mask + 1) * 2
    this.hi = new Uint32Array(capacity)
    this.lo = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.mask = capacity - 1
    this.size = 0
    for (let i = 0; i < used.length; i++) if (used[i] === 1) this.add(hi[i]!, lo[i]!)
  }
}

/** A well-mixed slot index from both halves (murmur3's finaliser). */
const slotOf = (hi: number, lo: number): number => {
  let h = Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const decimal = /^[1-9][0-9]{0,19}$/
const TWO_32 = 2 ** 32

/**
 * The exact 64-bit value of a decimal ID as halves, or undefined when the text is not a
 * positive decimal below 2^64 without leading zeros.
 */
export const decimalKey = (text: string): readonly [number, number] | undefined => {
  if (!decimal.test(text)) return undefined
  if (text.length <= 15) {
    const value = Number(text)
    return [Math.floor(value / TWO_32), value % TWO_32]
  }
  const value = BigInt(text)
  if (value >= 1n << 64n) return undefined
  return [Number(value >> 32n), Number(value & 0xffffffffn)]
}

/**
 * A 64-bit hash of a string as halves (two independent 32-bit FNV-1a variants). Not a
 * proof of difference: equal hashes must be confirmed by comparing the strings.
 */
export const stringKey = (text: string): readonly [number, number] => {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return [a >>> 0, b >>> 0]
}
