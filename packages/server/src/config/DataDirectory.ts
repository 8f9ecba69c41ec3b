/**
 * The data directory (`database.data_dir`, `IDGEN_DATA_DIR`) made on a first start, and what
 * a start that cannot make or use it says.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { osReason } from "../StartFailure.ts"

/**
 * Makes `dir` and its missing parents (mode 0700), one `mkdir` each. Node's recursive mkdir
 * is not used: where a parent exists but refuses children with ENOENT (procfs: /proc/x) it
 * retries forever, at full CPU.
 */
export const makeDirectory = (dir: string): void => {
  const missing: Array<string> = []
  for (let at = Path.resolve(dir); !Fs.existsSync(at); at = Path.dirname(at)) {
    missing.unshift(at)
    if (Path.dirname(at) === at) break
  }
  for (const at of missing) {
    try {
      Fs.mkdirSync(at, { mode: 0o700 })
    } catch (error) {
      // Made meanwhile by another process: fine, if it is a directory.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !Fs.statSync(at).isDirectory()) throw error
    }
  }
}

/** Why the data directory cannot be used, for one line: "cannot create /x/y: not a directory (ENOTDIR)". */
export const problem = (dir: string, cause: unknown): string => {
  const { syscall, path } = (cause ?? {}) as NodeJS.ErrnoException
  const what = syscall === "mkdir" ? "cannot create" : syscall === "open" ? "cannot open" : "cannot use"
  return `the data directory ${dir} (database.data_dir, IDGEN_DATA_DIR) is unusable: ${what} ${path ?? dir}: ${osReason(cause)}`
}
