/**
 * Running counts of the chaos load: per biz_tag kind (requests, successes, refusals by
 * code, contract breaches, requests no node answered, IDs by algorithm, and the longest
 * stretch without a success), per interface and call shape, and the slowest answers.
 */
import type { Answer, Interface } from "./Callers.ts"

export interface Outage {
  /** Real time (ms) of the first failed request after a success, and of the next success. */
  readonly from: number
  readonly to: number
  readonly ms: number
}

export interface KindCounts {
  requests: number
  ok: number
  refused: Record<string, number>
  violations: number
  unanswered: Record<string, number>
  ids: number
  idsByAlgorithm: Record<string, number>
  longest: Outage | undefined
  /** Outages over a second, in order. */
  readonly outages: Array<Outage>
  failingSince: number | undefined
}

export interface InterfaceCounts {
  requests: number
  ok: number
  ids: number
  maxLatencyMs: number
}

export interface Breach {
  readonly at: number
  readonly via: string
  readonly tag: string
  readonly node: number
  readonly detail: string
}

const bump = (record: Record<string, number>, key: string, by = 1) => {
  record[key] = (record[key] ?? 0) + by
}

export class Tally {
  requests = 0
  ids = 0
  readonly kinds = new Map<string, KindCounts>()
  readonly interfaces = new Map<string, InterfaceCounts>()
  /** Every non-success by code (refusal codes, "contract", "timeout", "no answer"). */
  readonly errors: Record<string, number> = {}
  readonly breaches: Array<Breach> = []
  /** Requests that skipped at least one node that did not answer or answered "unavailable". */
  skippedNodes = 0

  constructor(tags: ReadonlyArray<string>) {
    for (const tag of tags) {
      this.kinds.set(tag, {
        requests: 0,
        ok: 0,
        refused: {},
        violations: 0,
        unanswered: {},
        ids: 0,
        idsByAlgorithm: {},
        longest: undefined,
        outages: [],
        failingSince: undefined
      })
    }
  }

  record(via: Interface, tag: string, size: number, sent: number, at: number, answer: Answer) {
    const kind = this.kinds.get(tag)!
    const shape = `${via} ${size === 1 ? "single" : "batch"}`
    let iface = this.interfaces.get(shape)
    if (iface === undefined) {
      iface = { requests: 0, ok: 0, ids: 0, maxLatencyMs: 0 }
      this.interfaces.set(shape, iface)
    }
    this.requests++
    kind.requests++
    iface.requests++
    iface.maxLatencyMs = Math.max(iface.maxLatencyMs, at - sent)
    if (answer.skipped > 0) this.skippedNodes++
    if (answer.outcome === "ok") {
      kind.ok++
      iface.ok++
      kind.ids += answer.ids.length
      iface.ids += answer.ids.length
      this.ids += answer.ids.length
      bump(kind.idsByAlgorithm, answer.algorithm, answer.ids.length)
      if (kind.failingSince !== undefined && at > kind.failingSince) this.closeOutage(kind, at)
      return
    }
    kind.failingSince ??= sent
    bump(this.errors, answer.code)
    if (answer.outcome === "refused") bump(kind.refused, answer.code)
    else if (answer.outcome === "unanswered") bump(kind.unanswered, answer.code)
    else kind.violations++
    if (answer.outcome === "violation" || answer.code === "timeout") {
      if (this.breaches.length < 200) this.breaches.push({ at, via: shape, tag, node: answer.node, detail: `${answer.code}: ${answer.detail}` })
    }
  }

  /** Closes outages still open at the end of the run. */
  finish(at: number) {
    for (const kind of this.kinds.values()) if (kind.failingSince !== undefined) this.closeOutage(kind, at)
  }

  private closeOutage(kind: KindCounts, at: number) {
    const outage = { from: kind.failingSince!, to: at, ms: at - kind.failingSince! }
    kind.failingSince = undefined
    if (kind.longest === undefined || outage.ms > kind.longest.ms) kind.longest = outage
    if (outage.ms > 1000) kind.outages.push(outage)
  }
}
