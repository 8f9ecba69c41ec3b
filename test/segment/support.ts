/**
 * A segment node in-process on a throw-away PostgreSQL database: configuration (with
 * file-format overrides) → live configuration → storage → direct segment supply →
 * SegmentGenerator, as the server wires them.
 */
import { Names } from "@idgen/core"
import { Effect, Layer } from "effect"
import { LiveConfig } from "@idgen/server/config/HotReload"
import { load } from "@idgen/server/config/ConfigLoader"
import { ServerConfig } from "@idgen/server/config/ServerConfig"
import { SegmentGenerator } from "@idgen/server/segment/SegmentGenerator"
import { SegmentSupply } from "@idgen/server/segment/SegmentSupply"
import * as Storage from "@idgen/server/storage/index"
import { BizTagRepo, WorkspaceRepo } from "@idgen/server/storage/index"
import { TestDatabase } from "../support/TestDatabase.ts"

export const envOf = (url: string) => ({ IDGEN_DATABASE_URL: url, IDGEN_ADMIN_TOKEN: "test-admin-token-0123456789" })

/** Storage on a fresh database; the configuration is the defaults plus `overrides` (file format). */
export const storage = (overrides: Record<string, unknown> = {}) => {
  const config = Layer.effect(ServerConfig, Effect.flatMap(TestDatabase, ({ url }) => load(envOf(url), overrides)))
  return Storage.layer.pipe(Layer.provideMerge(config), Layer.provideMerge(TestDatabase.layer))
}

/** The generator with the live configuration (what `PATCH /api/v1/admin/config` changes). */
export const node = Layer.unwrap(
  Effect.map(TestDatabase, ({ url }) =>
    SegmentGenerator.layer.pipe(
      Layer.provideMerge(LiveConfig.layer(envOf(url))),
      Layer.provide(SegmentSupply.layerLocal)
    ))
)

export const key = (bizTag: string): Names.SequenceKey => ({
  workspace: Names.WorkspaceName.make("seg"),
  group: Names.GroupName.make("g"),
  bizTag: Names.BizTagName.make(bizTag)
})

export const createTag = (bizTag: string, step: number) =>
  Effect.gen(function*() {
    const workspaces = yield* WorkspaceRepo
    yield* workspaces.create({
      name: Names.WorkspaceName.make("seg"),
      defaultAlgorithm: "segment",
      autoCreateBizTags: true,
      rateLimit: null
    }).pipe(Effect.catchTag("Conflict", () => Effect.void))
    return yield* (yield* BizTagRepo).create(key(bizTag), {
      algorithm: "segment",
      fallback: [],
      step,
      formatTemplate: null
    })
  })

export const isStrictlyIncreasing = (values: ReadonlyArray<number>) =>
  values.every((v, i) => i === 0 || v > values[i - 1]!)
