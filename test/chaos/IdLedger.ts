/**
 * Every ID the chaos run receives, written to disk as it arrives and counted for
 * duplicates exactly, with memory bounded by a `KeySet` per ID space.
 *
 * A space is one biz_tag's numbers (segment and snowflake IDs of a biz_tag share it: a
 * snowflake fallback ID must not equal a segment ID of the same biz_tag) or one biz_tag's
 * strings (UUIDs, formatted IDs). Numbers are keyed by their exact 64-bit value, so a
 * repeated key is a duplicate. Strings are keyed by a 64-bit hash: a repeated key is only
 * a suspect until `finish` re-reads that space's file and compares the strings themselves.
 *
 * Each line of a space's file is `<id> <request number>`, so a duplicate can be traced to
 * the requests (interface, node, time, faults in progress) that received it.
 */
import { createReadStream, mkdirSync } from "node:fs"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { decimalKey, KeySet, stringKey } from "./KeySet.ts"
import { LineFile } from "./LineFile.ts"

export type SpaceKind = "number" | "string"

/** Numeric algorithms share a biz_tag's number space; the others its string space. */
export const spaceKindOf = (algorithm: string): SpaceKind =>
  algorithm === "segment" || algorithm === "snowflake" ? "number" : "string"

interface Space {
  readonly name: string
  readonly kind: SpaceKind
  readonly file: LineFile
  readonly keys: KeySet
  ids: number
  /** Exact duplicates (number spaces) or hash repeats still to confirm (string spaces). */
  repeats: number
  /** Hash keys seen more than once (string spaces), as `hi:lo`. */
  readonly suspects: Set<string>
  /** The first duplicate numbers, for the evidence. */
  readonly samples: Set<string>
}

export interface DuplicateEvidence {
  readonly space: string
  readonly id: string
  /** Every request that received it. */
  readonly requests: ReadonlyArray<number>
}

export interface SpaceSummary {
  readonly space: string
  readonly kind: SpaceKind
  readonly ids: number
  readonly duplicates: number
  /** 64-bit hash repeats that turned out to be different strings (string spaces). */
  readonly hashCollisions: number
  readonly file: string
}

const MAX_SAMPLES = 1000

export class IdLedger {
  private readonly spaces = new Map<string, Space>()
  /** IDs that are not what their algorithm issues (not decimal, say): contract breaches. */
  malformed: Array<{ readonly space: string; readonly id: string; readonly request: number }> = []

  private readonly dir: string

  constructor(dir: string) {
    this.dir = dir
    mkdirSync(dir, { recursive: true })
  }

  /** Records the IDs of one answer; yields how many of them were repeats. */
  record(tag: string, algorithm: string, ids: ReadonlyArray<string>, request: number): number {
    const space = this.spaceOf(tag, spaceKindOf(algorithm))
    const suffix = ` ${request}\n`
    let lines = ""
    let repeats = 0
    for (const id of ids) {
      lines += id + suffix
      let key: readonly [number, number] | undefined
      if (space.kind === "number") {
        key = decimalKey(id)
        if (key === undefined) {
          if (this.malformed.length < MAX_SAMPLES) this.malformed.push({ space: space.name, id, request })
          continue
        }
      } else {
        key = stringKey(id)
      }
      if (!space.keys.add(key[0], key[1])) {
        repeats++
        if (space.kind === "string") space.suspects.add(`${key[0]}:${key[1]}`)
        else if (space.samples.size < MAX_SAMPLES) space.samples.add(id)
      }
    }
    space.file.write(lines)
    space.ids += ids.length
    space.repeats += repeats
    return repeats
  }

  /** IDs recorded so far. */
  get ids(): number {
    let n = 0
    for (const space of this.spaces.values()) n += space.ids
    return n
  }

  /** Exact duplicates plus unconfirmed string repeats so far (final count: `finish`). */
  get repeats(): number {
    let n = 0
    for (const space of this.spaces.values()) n += space.repeats
    return n
  }

  /** Bytes the key sets hold. */
  get memoryBytes(): number {
    let n = 0
    for (const space of this.spaces.values()) n += space.keys.bytes
    return n
  }

  /**
   * Flushes and closes the files, confirms string repeats by exact comparison, and traces
   * every duplicate (up to a thousand per space) to the requests that received it.
   */
  async finish(): Promise<{ readonly spaces: ReadonlyArray<SpaceSummary>; readonly evidence: ReadonlyArray<DuplicateEvidence> }> {
    for (const space of this.spaces.values()) space.file.close()
    const summaries: Array<SpaceSummary> = []
    const evidence: Array<DuplicateEvidence> = []
    for (const space of this.spaces.values()) {
      let duplicates = space.kind === "number" ? space.repeats : 0
      let hashCollisions = 0
      if (space.repeats > 0) {
        const seen = await this.occurrences(space)
        for (const [id, requests] of seen) {
          if (requests.length > 1) {
            if (space.kind === "string") duplicates += requests.length - 1
            if (evidence.length < MAX_SAMPLES) evidence.push({ space: space.name, id, requests })
          }
        }
        if (space.kind === "string") hashCollisions = space.repeats - duplicates
      }
      summaries.push({ space: space.name, kind: space.kind, ids: space.ids, duplicates, hashCollisions, file: space.file.path })
    }
    return { spaces: summaries, evidence }
  }

  /** Every line of the space whose ID is a sampled duplicate or has a suspect hash, by ID. */
  private async occurrences(space: Space): Promise<Map<string, Array<number>>> {
    const found = new Map<string, Array<number>>()
    const lines = createInterface({ input: createReadStream(space.file.path), crlfDelay: Infinity })
    for await (const line of lines) {
      const cut = line.lastIndexOf(" ")
      const id = line.slice(0, cut)
      const wanted = space.kind === "number" ? space.samples.has(id) : space.suspects.has(stringKey(id).join(":"))
      if (!wanted) continue
      const requests = found.get(id) ?? []
      requests.push(Number(line.slice(cut + 1)))
      found.set(id, requests)
    }
    return found
  }

  private spaceOf(tag: string, kind: SpaceKind): Space {
    const name = `${tag}/${kind}`
    let space = this.spaces.get(name)
    if (space === undefined) {
      space = {
        name,
        kind,
        file: new LineFile(join(this.dir, `${tag}.${kind}.ids`)),
        keys: new KeySet(),
        ids: 0,
        repeats: 0,
        suspects: new Set(),
        samples: new Set()
      }
      this.spaces.set(name, space)
    }
    return space
  }
}
