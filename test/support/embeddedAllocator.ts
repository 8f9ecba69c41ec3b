/**
 * Child process of the embedded-store crash test: opens the embedded store in the data
 * directory given as argv[2], then allocates segments in a loop, printing each committed
 * range as `range <start> <end>` (written synchronously, after the commit) until killed.
 *
 *   node test/support/embeddedAllocator.ts <dataDir> [step]
 */
import { Errors, type Names } from "@idgen/core"
import { Effect } from "effect"
import * as Fs from "node:fs"
import { BizTagRepo } from "@idgen/server/storage/BizTagRepo"
import * as Storage from "@idgen/server/storage/index"
import { SegmentRepo } from "@idgen/server/storage/SegmentRepo"
import { WorkspaceRepo } from "@idgen/server/storage/WorkspaceRepo"

const dataDir = process.argv[2]
const step = Number(process.argv[3] ?? "10")
if (dataDir === undefined) {
  Fs.writeSync(2, "usage: embeddedAllocator.ts <dataDir> [step]\n")
  process.exit(64)
}

export const CRASH_KEY: Names.SequenceKey = {
  workspace: "crash" as Names.WorkspaceName,
  group: "g" as Names.GroupName,
  bizTag: "kill9" as Names.BizTagName
}

const program = Effect.gen(function*() {
  const workspaces = yield* WorkspaceRepo
  yield* workspaces.create({ name: CRASH_KEY.workspace, defaultAlgorithm: "segment", autoCreateBizTags: true, rateLimit: null })
    .pipe(Effect.catchIf((e) => e instanceof Errors.Conflict, () => Effect.void))
  const tag = yield* (yield* BizTagRepo).ensure(CRASH_KEY, { algorithm: "segment", fallback: [], step, formatTemplate: null })
  const segments = yield* SegmentRepo
  Fs.writeSync(1, `ready ${process.pid} ${tag.id}\n`)
  while (true) {
    const s = yield* segments.allocate({ bizTagId: tag.id, datacenterId: 0, step, node: `child-${process.pid}` })
    Fs.writeSync(1, `range ${s.start} ${s.end}\n`)
  }
})

Effect.runPromise(
  program.pipe(Effect.provide(Storage.layerWith({ url: undefined, dataDir, maxConnections: 1, rangeSize: 10_000_000_000 })))
).catch((error) => {
  Fs.writeSync(2, `embeddedAllocator failed: ${String(error)}\n`)
  process.exit(1)
})
