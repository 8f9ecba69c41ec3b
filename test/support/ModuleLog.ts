/**
 * Which modules a server process has loaded so far, for tests of what a configuration loads
 * (and what it leaves for later): `env(file)` preloads `moduleLogHook.mjs` into the process,
 * `loaded(file)` reads back the URLs it recorded.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"

const hook = resolve(import.meta.dirname, "moduleLogHook.mjs")

/** The server's extra environment: the hook preloaded, recording into `file`. */
export const env = (file: string): Record<string, string> => ({
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${hook}`,
  IDGEN_TEST_MODULE_LOG: file
})

/** The URLs of the modules loaded so far. */
export const loaded = (file: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.sync(() => readFileSync(file, "utf8").split("\n").filter((line) => line !== ""))
