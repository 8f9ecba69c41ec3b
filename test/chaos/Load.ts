/**
 * The chaos load: lanes of sequential callers (an interface and a request size each), every
 * lane cycling through all biz_tag kinds until told to stop. Every answer is counted in
 * the tally, its IDs go to the ledger (disk and duplicate count) and one line per request
 * goes to `requests.tsv`, so a duplicate can be traced to the requests that received it.
 */
import { Effect } from "effect"
import { wait } from "../support/ServerProcess.ts"
import type { Caller, Interface } from "./Callers.ts"
import type { IdLedger } from "./IdLedger.ts"
import type { LineFile } from "./LineFile.ts"
import type { Tally } from "./Tally.ts"

export interface Lane {
  readonly via: Interface
  /** IDs per request (1: the single-ID call). */
  readonly size: number
  /** At most this many requests a second (fewer when answers are slower). */
  readonly perSecond: number
  readonly caller: Caller
}

export const REQUEST_LOG_HEADER =
  "request\tsent_ms\tlatency_ms\tvia\ttag\tsize\tnode\tskipped\toutcome\tcode\talgorithm\tids\tdetail\n"

export interface LoadSinks {
  readonly tally: Tally
  readonly ledger: IdLedger
  readonly requests: LineFile
  /** Real time the run started (request log times are relative to it). */
  readonly started: number
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").slice(0, 300)

/** Runs every lane until `stop()`; lane `i` starts at tag `i` so the lanes spread over the kinds. */
export const runLoad = (
  lanes: ReadonlyArray<Lane>,
  tags: ReadonlyArray<string>,
  sinks: LoadSinks,
  stop: () => boolean
): Effect.Effect<void> => {
  let requestNumber = 0
  return Effect.forEach(lanes, (lane, index) =>
    Effect.gen(function*() {
      const intervalMs = 1000 / lane.perSecond
      let due = Date.now()
      for (let turn = index; !stop(); turn++) {
        const tag = tags[turn % tags.length]!
        // Paced, without catching up a backlog after slow answers.
        due = Math.max(due + intervalMs, Date.now() - intervalMs)
        const ahead = Math.floor(due - Date.now())
        if (ahead > 0) yield* wait(ahead)
        const sent = Date.now()
        const answer = yield* lane.caller(tag, lane.size)
        const at = Date.now()
        const request = ++requestNumber
        if (answer.outcome === "ok") sinks.ledger.record(tag, answer.algorithm, answer.ids, request)
        sinks.tally.record(lane.via, tag, lane.size, sent, at, answer)
        sinks.requests.write(
          `${request}\t${sent - sinks.started}\t${at - sent}\t${lane.via}\t${tag}\t${lane.size}\t${answer.node}\t${answer.skipped}\t` +
            `${answer.outcome}\t${answer.code}\t${answer.algorithm}\t${answer.ids.length}\t${oneLine(answer.detail)}\n`
        )
      }
    }), { concurrency: "unbounded", discard: true })
}
