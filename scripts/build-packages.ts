/**
 * `npm run build`: the published packages (@idgen/core, @idgen/protocol, @idgen/client) to
 * their dist/, each from a clean slate (no stale modules from deleted sources), in dependency
 * order since each compiles against the .d.ts of the ones before it; the repository's
 * LICENSE goes beside each package.json for `npm pack`.
 */
import { execFileSync } from "node:child_process"
import { copyFileSync, rmSync } from "node:fs"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const tsc = join(root, "node_modules/typescript/bin/tsc")

for (const name of ["core", "protocol", "client"]) {
  const dir = join(root, "packages", name)
  rmSync(join(dir, "dist"), { recursive: true, force: true })
  execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.build.json")], { stdio: "inherit" })
  copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"))
}
