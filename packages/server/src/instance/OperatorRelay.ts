/**
 * How an operator change held in memory — the runtime configuration, the degradation
 * manager's operator actions — made at one worker process reaches the instance's others
 * (README "Worker processes"). An instance must behave as one node: an operator who changes
 * something and then asks again, on any connection and so of any worker, sees the change.
 * The worker that accepts the change
 *
 * 1. takes the instance's turn from the primary: one change at a time across the instance,
 *    so that every worker applies them in the same order (two operators patching the same
 *    setting at two workers at once must not end with each worker keeping the other's);
 * 2. applies it here — validated and audited, exactly as a single node does;
 * 3. hands the primary what every other worker applies (`OperatorChange`: no validation
 *    left to fail, no audit row of their own), and answers only once the primary says they
 *    confirmed it, so a request on any connection after the answer sees the change.
 *
 * A worker that refuses the change or does not confirm it within `confirmMillis` (stopped,
 * wedged): the operator gets 503 IDGEN-COMMON-0005 naming it. The change is in force here
 * and on the workers that confirmed; that worker applies it once it reads the message
 * (messages are read in order), or gets it when it starts again: a difference the operator
 * is told of, never a silent one. A worker that starts — or restarts after a crash — gets
 * the changes in force from the primary before it serves.
 *
 * Why through the primary: it is the one process every worker already talks to, it outlives
 * them and knows which are alive, and it needs no store — Redis is optional, PostgreSQL
 * holds no runtime state, and an operator must be able to change a running instance whose
 * store is down (degrading an algorithm is what one does then).
 *
 * A process that is its own instance (`IDGEN_WORKERS=1`, the embedded store, `idgen serve`,
 * in-process tests) has nobody to tell: the default, `alone`, applies the change and talks
 * to nobody. Launch.ts gives a worker process `layerThroughPrimary` instead.
 */
import { Errors } from "@idgen/core"
import { Cause, Context, Deferred, Effect, Exit, Layer, Option, Queue } from "effect"
import { keyOf, type OperatorChange } from "./OperatorChange.ts"
import { confirmMillis, decodeToWorker, type ToPrimary, type ToWorker, type Unconfirmed } from "./RelayProtocol.ts"

/** Why a worker could not apply a change another worker made (reported to that worker). */
export interface Refusal {
  readonly message: string
}

/** Applies one change another worker made; ignores the kinds it does not own. */
export type Follower = (change: OperatorChange) => Effect.Effect<void, Refusal>

export interface OperatorRelayShape {
  /**
   * Runs `local`, the operator's change here (audited), as the instance's only change at the
   * moment; when it succeeds and `relayed` of its result names a change, every other worker
   * applies that before this returns. Fails with 503 IDGEN-COMMON-0005 when another change
   * held the turn too long (nothing changed), or when a worker did not confirm (the change is
   * in force here: see above).
   */
  readonly change: <A, E, R>(
    local: Effect.Effect<A, E, R>,
    relayed: (result: A) => OperatorChange | undefined
  ) => Effect.Effect<A, E | Errors.ServiceUnavailable, R>
  /**
   * Calls `apply` with each change in force in the instance, then with each one another worker
   * makes, one at a time in the instance's order, for as long as the process runs; returns once
   * the changes in force are applied, so a service that follows at construction starts with them.
   */
  readonly follow: (apply: Follower) => Effect.Effect<void>
}

const alone: OperatorRelayShape = { change: (local) => local, follow: () => Effect.void }

/**
 * A reference with `alone` as its default rather than a service every layer must be given:
 * whatever builds `LiveConfig` or the degradation manager outside a worker process (tests,
 * benchmarks, `idgen serve`) is its own instance.
 */
export const OperatorRelay = Context.Reference<OperatorRelayShape>("@idgen/server/instance/OperatorRelay", {
  defaultValue: () => alone
})

/** How long a change waits for the turn while another is being relayed (at most `confirmMillis` each). */
const turnMillis = 2 * confirmMillis
/** The primary answers within `confirmMillis`; this only bounds a wait on a primary that is gone. */
const relayedMillis = 2 * confirmMillis

type Incoming = ToWorker | { readonly _tag: "Follow"; readonly apply: Follower; readonly done: Deferred.Deferred<void> }

const send = (message: ToPrimary) => {
  // Without a callback a failed send is an 'error' event on `process`; the primary is gone then, and the worker with it.
  if (process.connected) process.send?.(message, undefined, undefined, () => {})
}

const busy = new Errors.ServiceUnavailable({
  message: `Another operator change of this instance is still being applied to its worker processes; ` +
    `nothing was changed: repeat the request`,
  details: { reason: "operator_change_in_progress" }
})

const notConfirmed = (index: number, missing: string, unconfirmed: ReadonlyArray<Unconfirmed>) =>
  new Errors.ServiceUnavailable({
    message: `The change is in force on worker ${index}, which answered, but ${missing}. ` +
      `A worker applies the changes it missed once it reads them, in order, or when it starts again; ` +
      `repeating the request is harmless.`,
    details: { reason: "operator_change_unconfirmed", worker: index, unconfirmed }
  })

/** A worker process (`index`): joins the primary's operator changes before the layers above it are built. */
export const layerThroughPrimary = (index: number): Layer.Layer<never> =>
  Layer.effect(
    OperatorRelay,
    Effect.gen(function*() {
      const inbox = yield* Queue.unbounded<Incoming>()
      const onMessage = (message: unknown) => Option.map(decodeToWorker(message), (m) => Queue.offerUnsafe(inbox, m))
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("message", onMessage)),
        () => Effect.sync(() => process.off("message", onMessage))
      )

      /** The latest change of each key: the instance's state as this worker knows it. */
      const inForce = new Map<string, OperatorChange>()
      const record = (change: OperatorChange) => {
        const key = keyOf(change)
        if (key === undefined) return
        inForce.delete(key)
        inForce.set(key, change)
      }
      const followers: Array<Follower> = []
      const joined = Deferred.makeUnsafe<void>()
      const turns = new Map<number, Deferred.Deferred<void>>()
      const relays = new Map<number, Deferred.Deferred<ReadonlyArray<Unconfirmed>>>()
      let nextId = 0

      /** Every follower, in order; the refusals. */
      const applyAll = Effect.fnUntraced(function*(change: OperatorChange) {
        const refusals: Array<string> = []
        for (const apply of followers) {
          const exit = yield* Effect.exit(apply(change))
          if (Exit.isFailure(exit)) {
            refusals.push(Option.match(Exit.findErrorOption(exit), { onNone: () => Cause.pretty(exit.cause), onSome: (r) => r.message }))
          }
        }
        return refusals
      })

      // One message at a time, in the order the primary sent them: a turn is granted only
      // after the changes relayed before it are applied here.
      const handle = (message: Incoming): Effect.Effect<void> => {
        switch (message._tag) {
          case "Joined":
            return Effect.sync(() => {
              for (const change of message.changes) record(change)
              Deferred.doneUnsafe(joined, Effect.void)
            })
          case "Apply":
            return Effect.flatMap(Effect.suspend(() => {
              record(message.change)
              return applyAll(message.change)
            }), (refusals) => {
              if (refusals.length > 0) {
                return Effect.logError(`operator change ${message.change._tag} from another worker refused here: ${refusals.join("; ")}`).pipe(
                  Effect.andThen(Effect.sync(() => send({ _tag: "Applied", seq: message.seq, refused: refusals.join("; ") })))
                )
              }
              return Effect.sync(() => send({ _tag: "Applied", seq: message.seq }))
            })
          case "Turn":
            return Effect.sync(() => {
              const turn = turns.get(message.id)
              if (turn !== undefined) Deferred.doneUnsafe(turn, Effect.void)
            })
          case "Relayed":
            return Effect.sync(() => {
              const relay = relays.get(message.id)
              if (relay !== undefined) Deferred.doneUnsafe(relay, Effect.succeed(message.unconfirmed))
            })
          case "Follow":
            return Effect.gen(function*() {
              followers.push(message.apply)
              for (const change of inForce.values()) {
                const exit = yield* Effect.exit(message.apply(change))
                if (Exit.isFailure(exit)) yield* Effect.logError(`operator change ${change._tag} in force in the instance not applied here`, exit.cause)
              }
              Deferred.doneUnsafe(message.done, Effect.void)
            })
        }
      }
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(inbox), handle)))

      send({ _tag: "Join" })
      if (Option.isNone(yield* Effect.timeoutOption(Deferred.await(joined), relayedMillis))) {
        return yield* Effect.die(new Error(`worker ${index}: the primary did not send the operator changes in force`))
      }

      const change = <A, E, R>(local: Effect.Effect<A, E, R>, relayed: (result: A) => OperatorChange | undefined) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const id = nextId++
            const turn = Deferred.makeUnsafe<void>()
            turns.set(id, turn)
            send({ _tag: "Begin", id })
            const granted = yield* restore(Deferred.await(turn)).pipe(
              Effect.timeoutOption(turnMillis),
              Effect.onInterrupt(() => Effect.sync(() => send({ _tag: "Finish", id }))),
              Effect.ensuring(Effect.sync(() => turns.delete(id)))
            )
            if (Option.isNone(granted)) {
              send({ _tag: "Finish", id })
              return yield* busy
            }
            // The turn is this request's until `Finish`: applying and relaying are not interrupted.
            const result = yield* Effect.exit(local)
            const next = Exit.isSuccess(result) ? relayed(result.value) : undefined
            if (next === undefined) {
              send({ _tag: "Finish", id })
              return yield* result
            }
            const relay = Deferred.makeUnsafe<ReadonlyArray<Unconfirmed>>()
            relays.set(id, relay)
            send({ _tag: "Finish", id, change: next })
            const unconfirmed = yield* Deferred.await(relay).pipe(
              Effect.timeoutOption(relayedMillis),
              Effect.ensuring(Effect.sync(() => relays.delete(id)))
            )
            if (Option.isNone(unconfirmed)) {
              return yield* notConfirmed(index, "the primary did not say whether the other workers confirmed it", [])
            }
            if (unconfirmed.value.length > 0) {
              const missing = unconfirmed.value.map((u) => `worker ${u.worker} did not confirm it (${u.reason})`).join(", ")
              return yield* notConfirmed(index, missing, unconfirmed.value)
            }
            return yield* result
          })
        )

      const follow = (apply: Follower) =>
        Effect.suspend(() => {
          const done = Deferred.makeUnsafe<void>()
          Queue.offerUnsafe(inbox, { _tag: "Follow", apply, done })
          return Deferred.await(done)
        })

      return OperatorRelay.of({ change, follow })
    })
  )
