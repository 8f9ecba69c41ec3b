/**
 * Each workspace's `rate_limit`, as the limiter reads it on every request: from memory.
 * The first request of a workspace loads it (one query); afterwards a copy older than
 * `refreshMillis` is still used while a background query refreshes it. A workspace that
 * cannot be read (unknown, database down) has no limit here — the request fails later,
 * where the workspace is really needed, with the proper error.
 */
import type { Names } from "@idgen/core"
import { Effect, Option } from "effect"
import type { RateLimit } from "../storage/Records.ts"
import type { WorkspaceRepo } from "../storage/WorkspaceRepo.ts"

const refreshMillis = 10_000

interface Entry {
  limit: RateLimit | null
  loadedAt: number
  refreshing: boolean
}

export interface WorkspaceLimits {
  /** The limit (null: none) when known, else the effect that loads it. */
  get(workspace: Names.WorkspaceName, now: number): RateLimit | null | Effect.Effect<RateLimit | null>
}

export const make = (
  repo: WorkspaceRepo["Service"],
  runFork: (effect: Effect.Effect<unknown>) => void
): WorkspaceLimits => {
  const entries = new Map<string, Entry>()

  const load = (workspace: Names.WorkspaceName, now: number): Effect.Effect<RateLimit | null> =>
    repo.findByName(workspace).pipe(
      Effect.map((found) => {
        const limit = Option.isSome(found) ? found.value.rateLimit : null
        entries.set(workspace, { limit, loadedAt: now, refreshing: false })
        return limit
      }),
      Effect.catch(() =>
        Effect.sync(() => {
          const entry = entries.get(workspace)
          if (entry !== undefined) entry.refreshing = false
          return entry?.limit ?? null
        })
      )
    )

  return {
    get: (workspace, now) => {
      const entry = entries.get(workspace)
      if (entry === undefined) return load(workspace, now)
      if (now - entry.loadedAt > refreshMillis && !entry.refreshing) {
        entry.refreshing = true
        runFork(load(workspace, now))
      }
      return entry.limit
    }
  }
}
