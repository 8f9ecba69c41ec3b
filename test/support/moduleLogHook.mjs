/**
 * Preloaded into a server process (`--import`, see `ModuleLog.ts`): appends the URL of every
 * module the process loads to the file named by IDGEN_TEST_MODULE_LOG, one per line, as it
 * loads it, and Node's own internal modules as `node:internal/…` when they are first seen
 * (`process.moduleLoadList`), e.g. its TypeScript stripper. JavaScript, so that loading the
 * hook itself strips no types.
 */
import { appendFileSync } from "node:fs"
import { registerHooks } from "node:module"

const file = process.env.IDGEN_TEST_MODULE_LOG
const PREFIX = "NativeModule "
let internalSeen = 0

/** Node's internal modules loaded since the last call. */
const newInternal = () => {
  const list = process.moduleLoadList
  const fresh = list.slice(internalSeen).filter((entry) => entry.startsWith(PREFIX))
  internalSeen = list.length
  return fresh.map((entry) => `node:${entry.slice(PREFIX.length)}`)
}

if (file !== undefined) {
  newInternal()
  registerHooks({
    load: (url, context, nextLoad) => {
      const result = nextLoad(url, context)
      appendFileSync(file, [url, ...newInternal()].map((line) => `${line}\n`).join(""))
      return result
    }
  })
}
