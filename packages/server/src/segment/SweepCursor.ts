/**
 * A periodic look at every entry of a map, a bounded batch per tick: each call returns the
 * next at most `batch` entries, resuming where the previous call stopped, so one tick costs
 * the same loop time however large the map grows. A pass ends short of `batch` at the end of
 * the map (no entry twice in one call) and the next call starts a fresh pass. Entries added
 * meanwhile are seen in the current pass, deleted ones are skipped (a Map iterator is live).
 */
export class SweepCursor<K, V> {
  private readonly map: Map<K, V>
  readonly batch: number
  private entries: Iterator<[K, V]>

  constructor(map: Map<K, V>, batch: number) {
    this.map = map
    this.batch = batch
    this.entries = map.entries()
  }

  next(): Array<[K, V]> {
    const out: Array<[K, V]> = []
    while (out.length < this.batch) {
      const entry = this.entries.next()
      if (entry.done === true) {
        this.entries = this.map.entries()
        break
      }
      out.push(entry.value)
    }
    return out
  }
}
