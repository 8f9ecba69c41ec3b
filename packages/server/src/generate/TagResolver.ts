/**
 * Finds the biz_tag behind a request, creating it on first use when its workspace
 * allows. Lookups are cached for `cacheTtlMillis`
 * so the hot path does not touch the database. A biz_tag in use is read again in the
 * background once half that has passed, so at steady state no request waits for it; and
 * one read at a time per biz_tag (`SingleFlight`): the requests that miss it while a read
 * runs — a first burst, traffic with pauses longer than the TTL — share that read.
 *
 * An operator's change (`changed`, after the PATCH committed) reaches every node within
 * 2 s: this node drops its copy at once and the `ChangeBroadcast` tells the others — on
 * Redis in milliseconds, and through each node's database poll (every second, for
 * `updated_at`) within about a second when Redis is absent, down or lost the message; on the
 * embedded store there are no others, and no poll (`App.ts`, `Peers`). A change made in the
 * database by hand without touching `updated_at` is seen within the TTL.
 * The next request loads the new record, which also hands a new step to the running
 * segment actor (used from its next load).
 */
import { Errors, Immediate, Names } from "@idgen/core"
import { Clock, Context, Effect, Layer, Option, type Scope } from "effect"
import { claimRefresh, type RefreshAhead, refreshAhead } from "../cache/RefreshAhead.ts"
import * as SingleFlight from "../cache/SingleFlight.ts"
import { currentConfig } from "../config/HotReload.ts"
import { ChangeBroadcast } from "../redis/ChangeBroadcast.ts"
import { BizTagRepo } from "../storage/BizTagRepo.ts"
import type { BizTagRecord } from "../storage/Records.ts"
import { WorkspaceRepo } from "../storage/WorkspaceRepo.ts"

/** How long a node serves a biz_tag as it read it (read again in the background from half of it on). */
export const cacheTtlMillis = 5_000
/** biz_tags cached at most. */
const maxCached = 100_000

interface Entry extends RefreshAhead {
  readonly tag: BizTagRecord
  readonly expiresAt: number
}

type ResolveError = Errors.NotFound | Errors.InvalidRequest | Errors.DatabaseUnavailable

/** The key an id of this cache stands for: ids are `Names.keyString`s, and names hold no "/". */
const keyOf = (id: string): Names.SequenceKey => {
  const [workspace, group, bizTag] = id.split("/")
  return { workspace: workspace as Names.WorkspaceName, group: group as Names.GroupName, bizTag: bizTag as Names.BizTagName }
}

export class TagResolver extends Context.Service<TagResolver, {
  resolve(key: Names.SequenceKey): Effect.Effect<BizTagRecord, ResolveError>
  /** `resolve`, now: the cached biz_tag, or the Effect that loads (or creates) it. */
  resolveUnsafe(key: Names.SequenceKey): Immediate.Immediate<BizTagRecord, ResolveError>
  /** An operator changed the biz_tag (committed) on this node: every node drops its copy. */
  changed(key: Names.SequenceKey): Effect.Effect<void>
  /**
   * Calls `onChanged`, for the scope's lifetime, with every biz_tag this node learns was
   * changed — by its own operator call, through Redis or the database poll — once it dropped its copy.
   */
  watch(onChanged: (key: Names.SequenceKey) => void): Effect.Effect<void, never, Scope.Scope>
}>()("@idgen/server/generate/TagResolver") {
  static readonly layer = Layer.effect(
    TagResolver,
    Effect.gen(function*() {
      const config = yield* currentConfig
      const tags = yield* BizTagRepo
      const workspaces = yield* WorkspaceRepo
      const clock = yield* Clock.Clock
      const runFork = Effect.runForkWith(yield* Effect.context<never>())
      const cache = new Map<string, Entry>()
      /** Counts drops: a load that overlapped one may have read the record before the change. */
      let drops = 0

      const autoCreate = Effect.fnUntraced(function*(key: Names.SequenceKey) {
        const workspace = yield* workspaces.findByName(key.workspace)
        if (Option.isNone(workspace)) {
          return yield* new Errors.NotFound({
            message: `workspace ${key.workspace} does not exist`,
            details: { workspace: key.workspace }
          })
        }
        if (!workspace.value.autoCreateBizTags) {
          return yield* new Errors.NotFound({
            message: `biz_tag ${Names.keyString(key)} does not exist and workspace ${key.workspace} does not auto-create biz_tags`,
            details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
          })
        }
        if (workspace.value.defaultAlgorithm === "formatted") {
          return yield* new Errors.InvalidRequest({
            message: `biz_tag ${Names.keyString(key)} does not exist; formatted biz_tags need a template and must be created through the operator API`,
            details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag }
          })
        }
        const created = yield* tags.autoCreate(key, {
          algorithm: workspace.value.defaultAlgorithm,
          fallback: workspace.value.defaultFallback,
          step: config().segment.defaultStep,
          formatTemplate: null
        })
        if (Option.isSome(created)) return created.value
        const limit = workspace.value.maxAutoBizTags
        return yield* new Errors.NotFound({
          message: `biz_tag ${Names.keyString(key)} does not exist, and workspace ${key.workspace} has auto-created ` +
            `its limit of ${limit} biz_tags (max_auto_biz_tags); create it through the operator API ` +
            `(POST /api/v1/admin/workspaces/${key.workspace}/biz-tags)`,
          details: { workspace: key.workspace, group: key.group, biz_tag: key.bizTag, max_auto_biz_tags: limit }
        })
      })

      /** Drops expired entries, then the oldest ones down to three quarters of the bound. */
      const sweep = () => {
        const now = clock.currentTimeMillisUnsafe()
        for (const [id, entry] of cache) if (entry.expiresAt <= now) cache.delete(id)
        for (const id of cache.keys()) {
          if (cache.size < maxCached * 0.75) break
          cache.delete(id)
        }
      }

      const load = Effect.fn("TagResolver.load")(function*(id: string) {
        const key = keyOf(id)
        const dropsBefore = drops
        const found = yield* tags.find(key)
        const tag = Option.isSome(found) ? found.value : yield* autoCreate(key)
        // Bounded: biz_tags are (auto-creates are capped per workspace), but expired entries would linger.
        if (cache.size >= maxCached) sweep()
        // Possibly stale (read before a change that was dropped meanwhile): used, and already expired.
        const now = clock.currentTimeMillisUnsafe()
        cache.set(
          id,
          drops === dropsBefore
            ? { tag, expiresAt: now + cacheTtlMillis, ...refreshAhead(now, cacheTtlMillis) }
            : { tag, expiresAt: 0, refreshAt: 0, refreshing: true }
        )
        return tag
      })
      const loads = yield* SingleFlight.make(load)
      const loadOnce = (id: string) => SingleFlight.run(loads, id)

      const watchers = new Set<(key: Names.SequenceKey) => void>()
      const drop = (id: string) => {
        drops++
        cache.delete(id)
        SingleFlight.forget(loads, id)
        if (watchers.size > 0) {
          const key = keyOf(id)
          for (const onChanged of watchers) onChanged(key)
        }
      }
      const broadcast = yield* (yield* ChangeBroadcast).watch({
        channel: "idgen:biz_tag:changed",
        changedSince: (since) =>
          Effect.map(tags.updatedSince(since), ({ checkedAt, updated }) => ({
            checkedAt,
            changed: updated.map(({ key, updatedAt }) => ({ id: Names.keyString(key), version: updatedAt.getTime() }))
          })),
        onChanged: drop
      })

      const resolveUnsafe = (key: Names.SequenceKey): Immediate.Immediate<BizTagRecord, ResolveError> => {
        const id = Names.keyString(key)
        const hit = cache.get(id)
        if (hit === undefined) return loadOnce(id)
        const now = clock.currentTimeMillisUnsafe()
        if (hit.expiresAt > now) {
          if (claimRefresh(hit, now)) {
            // Failing, the entry expires as usual and the next request reads it itself.
            runFork(loadOnce(id).pipe(
              Effect.catch((error) => Effect.logDebug("biz_tag refresh skipped", String(error))),
              Effect.withTracerEnabled(false)
            ))
          }
          return hit.tag
        }
        // Database down: keep serving the biz_tag as last seen rather than refusing every
        // request (its generators may well have numbers buffered or need no database).
        return loadOnce(id).pipe(Effect.catchTag("DatabaseUnavailable", () => Effect.succeed(hit.tag)))
      }

      return TagResolver.of({
        resolve: Immediate.lazy(resolveUnsafe),
        resolveUnsafe,
        changed: (key) =>
          Effect.suspend(() => {
            const id = Names.keyString(key)
            drop(id)
            return broadcast.changed(id)
          }),
        watch: (onChanged) =>
          Effect.acquireRelease(Effect.sync(() => watchers.add(onChanged)), () => Effect.sync(() => watchers.delete(onChanged)))
      })
    })
  )
}
