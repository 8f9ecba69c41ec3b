/**
 * The primary's side of the operator changes an instance's workers share (the workers' side,
 * and why it goes through here, is `instance/OperatorRelay.ts`). It
 *
 * - keeps the changes in force (the latest of each `keyOf`) and sends them to every worker
 *   that joins, i.e. every worker as it starts, before it serves;
 * - grants the instance's turn to one accepting worker at a time, in the order they asked;
 * - relays the change a turn ends with to every other joined worker and tells the accepting
 *   worker which of them did not confirm within `confirmMillis` — a worker that exits meanwhile
 *   is not among them: it gets the change when it starts again.
 *
 * The changes live as long as the primary: like a single node's, they are gone when the
 * instance restarts.
 */
import { Deferred, Effect, Option, Queue } from "effect"
import type { Worker } from "node:cluster"
import { keyOf, type OperatorChange } from "../instance/OperatorChange.ts"
import { confirmMillis, decodeToPrimary, type ToWorker, type Unconfirmed } from "../instance/RelayProtocol.ts"

export interface OperatorHub {
  /** Serves worker `index` (this incarnation of it) until it exits. */
  readonly attach: (worker: Worker, index: number) => void
  /** Grants the turns, one after another, for as long as the instance runs. */
  readonly run: Effect.Effect<never>
}

interface TurnRequest {
  readonly worker: Worker
  readonly id: number
}

/** A relay waiting for its confirmations. */
interface Pending {
  /** Workers yet to confirm, with their index. */
  readonly awaiting: Map<Worker, number>
  readonly refused: Array<Unconfirmed>
  readonly done: Deferred.Deferred<void>
}

const send = (worker: Worker, message: ToWorker) => {
  // A worker that is gone gets the changes when it starts again; its exit is handled on its own.
  if (worker.isConnected()) worker.send(message, undefined, () => {})
}

export const make = Effect.gen(function*() {
  const inForce = new Map<string, OperatorChange>()
  /** Workers that joined (asked for the changes in force), with their index. */
  const members = new Map<Worker, number>()
  const turns = yield* Queue.unbounded<TurnRequest>()
  /** Turn requests given up (`Finish` before `Turn`): skipped when their turn comes. */
  const withdrawn = new Set<string>()
  /** The turn in progress: the accepting worker's `Finish`, with or without a change. */
  let current: (TurnRequest & { readonly finished: Deferred.Deferred<OperatorChange | undefined> }) | undefined
  const pending = new Map<number, Pending>()
  let seq = 0

  const turnKey = (worker: Worker, id: number) => `${worker.id}:${id}`

  const settle = (p: Pending) => {
    if (p.awaiting.size === 0) Deferred.doneUnsafe(p.done, Effect.void)
  }

  const attach = (worker: Worker, index: number) => {
    worker.on("message", (message: unknown) => {
      const decoded = decodeToPrimary(message)
      if (Option.isNone(decoded)) return
      const m = decoded.value
      switch (m._tag) {
        case "Join":
          members.set(worker, index)
          send(worker, { _tag: "Joined", changes: [...inForce.values()] })
          return
        case "Begin":
          Queue.offerUnsafe(turns, { worker, id: m.id })
          return
        case "Finish":
          if (current?.worker === worker && current.id === m.id) Deferred.doneUnsafe(current.finished, Effect.succeed(m.change))
          else withdrawn.add(turnKey(worker, m.id))
          return
        case "Applied": {
          const p = pending.get(m.seq)
          if (p === undefined || !p.awaiting.delete(worker)) return
          if (m.refused !== undefined) p.refused.push({ worker: index, reason: `refused: ${m.refused}` })
          settle(p)
          return
        }
      }
    })
    worker.once("exit", () => {
      members.delete(worker)
      if (current?.worker === worker) Deferred.doneUnsafe(current.finished, Effect.succeed(undefined))
      for (const p of pending.values()) {
        p.awaiting.delete(worker)
        settle(p)
      }
    })
  }

  /** Records `change` and has every joined worker but `origin` apply it; the ones that did not confirm. */
  const relay = (origin: Worker, change: OperatorChange) =>
    Effect.gen(function*() {
      // Recorded and sent in one step: a worker joining now gets it either way, once.
      const key = keyOf(change)
      if (key !== undefined) {
        inForce.delete(key)
        inForce.set(key, change)
      }
      const p: Pending = {
        awaiting: new Map([...members].filter(([worker]) => worker !== origin)),
        refused: [],
        done: Deferred.makeUnsafe<void>()
      }
      const id = ++seq
      pending.set(id, p)
      for (const worker of p.awaiting.keys()) send(worker, { _tag: "Apply", seq: id, change })
      settle(p)
      yield* Deferred.await(p.done).pipe(Effect.timeoutOption(confirmMillis))
      pending.delete(id)
      const late = [...p.awaiting.values()].map((worker) => ({ worker, reason: `no confirmation within ${confirmMillis} ms` }))
      return [...p.refused, ...late].sort((a, b) => a.worker - b.worker)
    })

  const grant = ({ id, worker }: TurnRequest) =>
    Effect.gen(function*() {
      if (withdrawn.delete(turnKey(worker, id)) || worker.isDead()) return
      const finished = Deferred.makeUnsafe<OperatorChange | undefined>()
      current = { worker, id, finished }
      send(worker, { _tag: "Turn", id })
      const change = yield* Deferred.await(finished)
      current = undefined
      if (change === undefined) return
      const unconfirmed = yield* relay(worker, change)
      send(worker, { _tag: "Relayed", id, unconfirmed })
    })

  return { attach, run: Effect.forever(Effect.flatMap(Queue.take(turns), grant)) } satisfies OperatorHub
})
