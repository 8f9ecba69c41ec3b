/**
 * The cluster settings pinned in the database (`ClusterSettings.ts` says what and why).
 *
 * At start, after the migrations and before anything serves (`layer`, part of
 * `Storage.layer`), a node pins its own settings if none are pinned yet, then compares: a
 * difference stops it with `ConfigInvalid` (exit 78) naming the setting, the stored value
 * and its own. So does an epoch under which snowflake IDs still fall inside the segment ID
 * space. Changing the pinned settings is an operator command (`idgen cluster pin` → `pin`
 * with `replace`), which refuses a change that could issue an ID twice.
 */
import type { Errors } from "@idgen/core"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { ConfigInvalid } from "../config/ConfigInvalid.ts"
import { ServerConfig } from "../config/ServerConfig.ts"
import {
  type ClusterSettings,
  collisionProblem,
  differences,
  epochMoveProblem,
  ID_LAYOUT_VERSION,
  separationProblem
} from "./ClusterSettings.ts"
import * as Store from "./ClusterSettingsStore.ts"
import { orDatabaseUnavailable } from "./SqlFailure.ts"

/** The settings cannot be pinned: the message says why. */
export class PinRefused extends Schema.TaggedError<PinRefused>()("PinRefused", {
  message: Schema.String
}) {}

/** Why `next` cannot replace `current` (none: the first pin), given the segment rows there are. */
const problems = Effect.fnUntraced(function*(current: Option.Option<Store.StoredSettings>, next: ClusterSettings) {
  const found: Array<string> = []
  const old = Option.getOrUndefined(current)
  if (old !== undefined && old.layoutVersion !== next.layoutVersion) {
    found.push(`the database is pinned to ID layout version ${old.layoutVersion}; this build issues version ${next.layoutVersion}`)
  }
  const epochMove = old === undefined ? undefined : epochMoveProblem(old.epochMs, next.epochMs)
  if (epochMove !== undefined) found.push(epochMove)
  // Existing rows keep their ranges; only the rows a new R would create can overlap them.
  if (old === undefined || old.rangeSize !== next.rangeSize) {
    const collision = yield* Store.rowCollision(next.rangeSize)
    if (Option.isSome(collision)) found.push(collisionProblem(next.rangeSize, collision.value))
  }
  const apart = yield* separation(next)
  if (apart !== undefined) found.push(apart)
  return found
})

const separation = Effect.fnUntraced(function*(settings: ClusterSettings) {
  const ceiling = yield* Store.segmentCeiling(settings.rangeSize)
  return separationProblem(settings.epochMs, settings.rangeSize, ceiling, yield* Clock.currentTimeMillis)
})

/** What is pinned now and why `next` could not replace it (empty: it could), without writing. */
export const review = (next: ClusterSettings) =>
  Effect.gen(function*() {
    const current = yield* Store.read
    return { current, problems: yield* problems(current, next) }
  })

/**
 * Pins `next` and returns what is pinned afterwards. Without `replace` only a first pin
 * writes (settings pinned meanwhile are returned as they are); with it, the pinned ones
 * are changed, audited. Refused, with every reason, when `next` could issue an ID twice.
 */
export const pin = (next: ClusterSettings, by: Store.Writer, options: { readonly replace: boolean }) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(Effect.gen(function*() {
      yield* Store.lockForPinning
      const current = yield* Store.read
      if (Option.isSome(current) && !options.replace) return current.value
      const found = yield* problems(current, next)
      if (found.length > 0) return yield* new PinRefused({ message: found.join("; ") })
      yield* Store.write(next, by, current)
      return Option.getOrThrow(yield* Store.read)
    }))
  }).pipe(Effect.withSpan("PinnedSettings.pin"))

/** The start-up check of a node whose own settings are `own`; pins them on first start. */
export const check = (own: ClusterSettings, node: string) =>
  Effect.gen(function*() {
    const stored = yield* Option.match(yield* Store.read, {
      onNone: () =>
        pin(own, { actor: node, node }, { replace: false }).pipe(
          Effect.tap((pinned) =>
            Effect.logInfo("cluster settings pinned in the database").pipe(
              Effect.annotateLogs({ epochMs: pinned.epochMs, rangeSize: pinned.rangeSize, layoutVersion: pinned.layoutVersion })
            )
          ),
          Effect.catchTag("PinRefused", (refused) =>
            Effect.fail(new ConfigInvalid({ message: `cannot pin this node's cluster settings: ${refused.message}` })))
        ),
      onSome: Effect.succeed
    })
    const differing = differences(stored, own)
    if (differing.length > 0) {
      return yield* new ConfigInvalid({
        message: `this node's cluster settings differ from those pinned in the database: ${differing.join("; ")}. ` +
          "Every node must run with the pinned values; only `idgen cluster pin` changes them"
      })
    }
    const problem = yield* separation(stored)
    if (problem !== undefined) return yield* new ConfigInvalid({ message: problem })
  }).pipe(orDatabaseUnavailable("PinnedSettings.check"), Effect.withSpan("PinnedSettings.check"))

/** The check with this node's configuration, as a layer that provides nothing but its success. */
export const layer: Layer.Layer<never, ConfigInvalid | Errors.DatabaseUnavailable, SqlClient.SqlClient | ServerConfig> = Layer
  .effectDiscard(Effect.gen(function*() {
    const config = yield* ServerConfig
    yield* check(
      { epochMs: config.snowflake.epochMs, rangeSize: config.segment.rangeSize, layoutVersion: ID_LAYOUT_VERSION },
      config.node.name
    )
  }))
