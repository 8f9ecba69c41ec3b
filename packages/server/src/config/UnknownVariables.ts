/**
 * IDGEN_* variables in the environment that nothing reads — a misspelled setting, which would
 * otherwise be ignored without a word (a misspelled key of the file is refused) — warned of
 * once at start, one line each, with the closest known names.
 * A warning, not a refusal: the environment of a process is shared with other tools.
 */
import { Suggest } from "@idgen/core"
import { Effect } from "effect"
import { entries } from "./ServerConfig.ts"

/** Read by name, not settings: the file, the worker index a primary gives its workers (`cluster/WorkerPlan.ts`), and the CLI's, which a shell may hold for both. */
const others = ["IDGEN_CONFIG", "IDGEN_WORKER_INDEX", "IDGEN_URL", "IDGEN_GRPC", "IDGEN_CONNECT_TIMEOUT_MS", "IDGEN_API_KEY"]

/** Every IDGEN_* variable something reads: the settings' (a secret's `_FILE` too) and `others`. */
export const known: ReadonlyArray<string> = [
  ...entries.flatMap((entry) => entry.setting.secret ? [entry.variable, `${entry.variable}_FILE`] : [entry.variable]),
  ...others
].filter((variable) => variable.startsWith("IDGEN_"))

/** One line per IDGEN_* variable of `env` nothing reads. */
export const problems = (env: Record<string, string | undefined>): ReadonlyArray<string> =>
  Object.keys(env)
    .filter((name) => name.startsWith("IDGEN_") && !known.includes(name))
    .sort()
    .map((name) => {
      const near = Suggest.closest(name, known).slice(0, 3)
      return `environment variable ${name} is not read by idgen (no setting has it)` +
        (near.length === 0 ? "" : `; did you mean ${near.join(" or ")}?`)
    })

export const warn = (env: Record<string, string | undefined>) => Effect.forEach(problems(env), (line) => Effect.logWarning(line), { discard: true })
