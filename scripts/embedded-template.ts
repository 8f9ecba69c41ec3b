/**
 * Makes the embedded store's template for the installed PGlite (`storage/EmbeddedTemplate.ts`),
 * so that a node's first start copies it instead of running initdb. Run by `npm ci`
 * (postinstall) and by the Docker image's build.
 *
 *   node scripts/embedded-template.ts [cache dir]   # default: node_modules/.cache/idgen
 *
 * Never fails an install: without a template a first start runs initdb as before (and saves
 * the template itself).
 */
import * as EmbeddedTemplate from "@idgen/server/storage/EmbeddedTemplate"

const cache = process.argv[2] ?? EmbeddedTemplate.defaultCache()
const started = performance.now()
try {
  const there = EmbeddedTemplate.find(cache)._tag === "Found"
  const result = await EmbeddedTemplate.ensure(cache)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(
    result._tag === "Found"
      ? `idgen: embedded-store template ${result.dir} ${there ? "already there" : `made in ${seconds} s`}`
      : `idgen: no embedded-store template (${result._tag === "Unusable" ? `${result.dir}: ${result.reason}` : result.dir}); first starts run initdb`
  )
} catch (error) {
  console.warn(`idgen: could not make the embedded-store template in ${cache}: ${String(error)}; first starts run initdb`)
}
