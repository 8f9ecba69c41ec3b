/**
 * Two server processes (`<name>-a`, `<name>-b`) sharing one throw-away database and the
 * suite's own Redis: the cluster of the Redis-backed suites (rate limits, key cache,
 * revocation). `toml`, when given, is written to a config file both nodes load.
 */
import { type Context, Effect, Layer } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OwnRedis } from "./OwnRedis.ts"
import { make, type ServerProcessShape, type ServerStartError } from "./ServerProcess.ts"
import * as TestDatabase from "./TestDatabase.ts"

export interface PairShape {
  readonly a: ServerProcessShape
  readonly b: ServerProcessShape
}

export interface PairOptions {
  readonly env?: Record<string, string>
  readonly toml?: string
}

export const pairLayer = <I>(
  tag: Context.Key<I, PairShape>,
  name: string,
  options: PairOptions = {}
): Layer.Layer<I, ServerStartError, OwnRedis> =>
  Layer.effect(
    tag,
    Effect.gen(function*() {
      const redis = yield* OwnRedis
      const databaseUrl = yield* TestDatabase.make.pipe(Effect.orDie)
      const env: Record<string, string> = { IDGEN_REDIS_URL: redis.url, ...options.env }
      if (options.toml !== undefined) {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), `idgen-${name}-`))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
        )
        env.IDGEN_CONFIG = join(dir, "idgen.toml")
        writeFileSync(env.IDGEN_CONFIG, options.toml)
      }
      const a = yield* make(databaseUrl, { env: { ...env, IDGEN_NODE_NAME: `${name}-a` } })
      // Each node its own static worker id: a second holder of the same one would not be ready.
      const b = yield* make(databaseUrl, { env: { IDGEN_WORKER_ID: "1", ...env, IDGEN_NODE_NAME: `${name}-b` } })
      return { a, b }
    })
  )
