/**
 * Makes the embedded store's template for the installed PGlite and the current schema
 * (`storage/EmbeddedTemplate.ts`): a data directory made by the store itself (initdb) and
 * migrated by the node's own startup (`Database.layerWith`: migrations, audit partitions),
 * closed cleanly, then published. A node's first start copies it instead of running both.
 * Run by `npm ci` (postinstall) and by the Docker image's build.
 *
 *   node scripts/embedded-template.ts [cache dir]   # default: node_modules/.cache/idgen
 *
 * Never fails an install: without a template a first start runs initdb and the migrations,
 * as it always did.
 */
import * as Database from "@idgen/server/storage/Database"
import * as EmbeddedTemplate from "@idgen/server/storage/EmbeddedTemplate"
import { Effect, Layer, Logger } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"

const cache = process.argv[2] ?? EmbeddedTemplate.defaultCache()

/** Makes the template in a staging directory and publishes it; false when another process was first. */
const make = async (): Promise<boolean> => {
  const staging = EmbeddedTemplate.staging(cache)
  try {
    const node = Path.join(staging, "node")
    // Its own staging directory as the template cache: there is no template there, so initdb.
    const store = Database.layerWith({ url: undefined, dataDir: node, embeddedTemplateDir: staging, maxConnections: 1 })
    await Effect.runPromise(Effect.scoped(Layer.build(store)).pipe(Effect.provide(Logger.layer([]))))
    Fs.renameSync(Path.join(node, "pg"), EmbeddedTemplate.stagingData(staging))
    Fs.rmSync(node, { recursive: true, force: true })
    return EmbeddedTemplate.publish(staging, cache)
  } finally {
    Fs.rmSync(staging, { recursive: true, force: true })
  }
}

const started = performance.now()
try {
  const before = EmbeddedTemplate.find(cache)
  if (before._tag === "Missing") await make()
  const after = EmbeddedTemplate.find(cache)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(
    after._tag === "Found"
      ? `idgen: embedded-store template ${after.dir} ${before._tag === "Found" ? "already there" : `made in ${seconds} s`}`
      : `idgen: no embedded-store template (${after._tag === "Unusable" ? `${after.dir}: ${after.reason}` : after.dir}); first starts run initdb`
  )
} catch (error) {
  console.warn(`idgen: could not make the embedded-store template in ${cache}: ${String(error)}; first starts run initdb`)
}
