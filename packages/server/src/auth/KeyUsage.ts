/**
 * When each API key was last used (`api_keys.last_used_at`), kept cheap: a use costs one
 * map write on the request path, and a fiber writes the uses out in one statement a
 * second — a key's first use soon, then at most once a minute per key and node, the use
 * in between coalesced into that write. Best effort: a write the database refuses is
 * tried again on the next tick; the uses of a node that dies unflushed are lost.
 */
import { Clock, Effect, Schedule, type Scope } from "effect"
import type { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"

/** A key's `last_used_at` is written at most once per this, per node. */
export const writeEveryMillis = 60_000
const tick = "1 second"

export interface KeyUsage {
  /** Key `id` was used at `nowMillis` (Unix ms). */
  note(id: string, nowMillis: number): void
}

export const make = (repo: ApiKeyRepo["Service"]): Effect.Effect<KeyUsage, never, Scope.Scope> =>
  Effect.gen(function*() {
    /** The latest use not yet written, by key id. */
    const pending = new Map<string, number>()
    /** When each key's use was last written (kept for a write interval). */
    const written = new Map<string, number>()

    const flush = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const due = new Map<string, Date>()
      for (const [id, usedAt] of pending) {
        if (now - (written.get(id) ?? -Infinity) < writeEveryMillis) continue
        due.set(id, new Date(usedAt))
        pending.delete(id)
        written.set(id, now)
      }
      for (const [id, at] of written) if (now - at >= writeEveryMillis) written.delete(id)
      return repo.recordUse(due).pipe(Effect.catch(() =>
        Effect.sync(() => {
          // Not written: due again at the next tick, unless a later use is pending already.
          for (const [id, at] of due) {
            written.delete(id)
            if (!pending.has(id)) pending.set(id, at.getTime())
          }
        })
      ))
    })
    // Untraced: a statement a second per node would bury the request traces.
    yield* Effect.forkScoped(flush.pipe(Effect.repeat(Schedule.spaced(tick)), Effect.withTracerEnabled(false)))

    return { note: (id, nowMillis) => void pending.set(id, nowMillis) }
  })
