/**
 * Preloaded into a server process (`--import`, see `ModuleLog.ts`): appends the URL of every
 * module the process loads to the file named by IDGEN_TEST_MODULE_LOG, one per line, as it
 * loads it.
 */
import { appendFileSync } from "node:fs"
import { registerHooks } from "node:module"

const file = process.env.IDGEN_TEST_MODULE_LOG
if (file !== undefined) {
  registerHooks({
    load: (url, context, nextLoad) => {
      appendFileSync(file, `${url}\n`)
      return nextLoad(url, context)
    }
  })
}
