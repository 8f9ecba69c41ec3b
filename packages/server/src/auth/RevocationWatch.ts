/**
 * Revocations read from the database, for nodes that share verified keys through Redis.
 * The Redis broadcast and tombstones (`SharedKeyCache`) are best effort: a revocation made
 * while the revoking node cannot reach Redis (Redis down, paused, partitioned, or flushed
 * just before) leaves the key's shared entry without a tombstone, and an entry can live
 * for minutes. So every node also asks the database each `pollMillis` which keys were
 * revoked since its last look, forgets them locally (`onRevoked`) and, for as long as a
 * shared entry can live, ignores shared entries of those keys (`isRevoked`): a revoked key
 * is refused on every node within about `pollMillis` whatever Redis does. What a node
 * learns otherwise (it revoked the key, the database refused it, the broadcast) counts at
 * once (`learn`), so a key once refused here is not taken from a stale shared entry.
 *
 * While the database is down, nothing is learnt (`storage/ChangePoll.ts`) — and nothing is
 * verified either, except keys confirmed within `auth.outage_grace_ms` (`lastLookMillis`).
 */
import { Clock, Effect, type Scope } from "effect"
import type { ApiKeyRepo } from "../storage/ApiKeyRepo.ts"
import { pollChanges } from "../storage/ChangePoll.ts"

export interface RevocationWatch {
  /** Key `id` was revoked within the last `rememberMillis`. */
  isRevoked(id: string): boolean
  /** Key `id` is revoked, as this node just learnt otherwise (it revoked it, the database or the broadcast said so). */
  learn(id: string): void
  /** When this node last heard from the database which keys were revoked (Unix ms, its clock; -Infinity: never). */
  lastLookMillis(): number
}

/** Watches for the scope's lifetime; `rememberMillis` is the longest a shared entry lives. */
export const make = (
  repo: ApiKeyRepo["Service"],
  rememberMillis: number,
  onRevoked: (id: string) => void
): Effect.Effect<RevocationWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    /** Revoked key ids and when this node first saw them (Unix ms, its clock). */
    const revoked = new Map<string, number>()
    const clock = yield* Clock.Clock
    let lastLook = -Infinity
    yield* pollChanges({
      name: "revocation watch",
      lookBackMillis: rememberMillis,
      changedSince: repo.revokedSince,
      onLook: ({ ids }) => {
        const now = clock.currentTimeMillisUnsafe()
        lastLook = now
        for (const id of ids) {
          if (!revoked.has(id)) onRevoked(id)
          revoked.set(id, now)
        }
        for (const [id, seenAt] of revoked) {
          if (now - seenAt > rememberMillis) revoked.delete(id)
        }
      }
    })
    return {
      isRevoked: (id) => revoked.has(id),
      learn: (id) => void revoked.set(id, clock.currentTimeMillisUnsafe()),
      lastLookMillis: () => lastLook
    }
  })
