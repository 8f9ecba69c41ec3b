/**
 * The live configuration: the file named in `IDGEN_CONFIG` is watched (polled: editors
 * replace files rather than write them, which `fs.watch` misses) and re-read on change or
 * on SIGHUP; the operator API applies runtime changes on top. Each candidate goes through
 * the same loader and validation as at start-up:
 *
 * - invalid → refused, the running configuration stays, the error is logged, counted
 *   (`idgen_config_reloads_total{outcome="failure"}`) and shown by `GET /api/v1/admin/config`;
 * - valid → the settings declared `live` (`sections/*.ts`) take effect at once; changes to
 *   anything else are reported as needing a restart and not applied.
 *
 * Services that honour live settings read `LiveConfig.current()` where they use them (the
 * segment generator at each load, the alert evaluator at each tick, the logger per line).
 *
 * With worker processes, the runtime changes and reloads another worker of the instance
 * accepted are applied here as well (`OperatorRelay`; the HTTP handler relays this worker's),
 * and a worker starts with the runtime overrides in force in the instance.
 */
import { Clock, Context, Data, Effect, Layer, Metric, Redacted, Semaphore } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { OperatorRelay } from "../instance/OperatorRelay.ts"
import * as LogOutput from "../logging/LogOutput.ts"
import * as Metrics from "./ConfigMetrics.ts"
import type { StartFailure } from "../StartFailure.ts"
import type { ConfigInvalid } from "./ConfigInvalid.ts"
import { withAdminToken } from "./AdminTokenBootstrap.ts"
import { type Check, load } from "./ConfigLoader.ts"
import { entries, ServerConfig, type ServerConfigShape } from "./ServerConfig.ts"
import * as Tables from "./Tables.ts"

const liveEntries = entries.filter((entry) => entry.setting.live)

/** What takes effect without a restart (file keys): the settings declared `live`. */
export const liveSettings: ReadonlyArray<string> = liveEntries.map((entry) => entry.file.join("."))

/**
 * The settings a runtime change names that take effect only at a restart (file keys). Such a
 * change is refused: it would sit in the overrides, which a restart forgets, so it could never
 * take effect and would be reported as pending at every later reload.
 */
export const restartOnlyIn = (patch: Record<string, unknown>): ReadonlyArray<string> =>
  entries.filter((entry) => !entry.setting.live && Tables.get(patch, entry.file) !== undefined).map((entry) => entry.file.join("."))

/** `base` with the live settings of `from`. */
const withLive = (base: ServerConfigShape, from: ServerConfigShape): ServerConfigShape =>
  liveEntries.reduce<unknown>((config, entry) => Tables.setIn(config, entry.code, Tables.get(from, entry.code)), base) as ServerConfigShape

export interface ReloadReport {
  readonly source: "file" | "api" | "signal"
  readonly at: string
  /** Settings that changed and took effect (the file's dotted names, as `PATCH` and the TOML spell them). */
  readonly applied: ReadonlyArray<string>
  /** Settings that changed but need a restart (not applied; the file's names). */
  readonly restartRequired: ReadonlyArray<string>
}

export class ReloadFailed extends Data.TaggedError("ReloadFailed")<{
  readonly source: ReloadReport["source"]
  readonly at: string
  readonly message: string
}> {}

export interface LiveConfigStatus {
  readonly configFile: string | undefined
  readonly lastReload: ReloadReport | undefined
  readonly lastError: ReloadFailed | undefined
  /** Runtime changes in force (file format), lost on restart. */
  readonly overrides: Readonly<Record<string, unknown>>
}

export class LiveConfig extends Context.Service<LiveConfig, {
  /** The effective configuration now. */
  readonly current: () => ServerConfigShape
  /** Re-reads the file (and environment). */
  readonly reload: (source: "file" | "signal") => Effect.Effect<ReloadReport, ReloadFailed>
  /**
   * Applies runtime changes (file format, merged into earlier ones) on top of file and
   * environment. Refuses, applying nothing, a change naming a setting that is not live.
   */
  readonly update: (patch: Record<string, unknown>) => Effect.Effect<ReloadReport, ReloadFailed>
  readonly status: () => LiveConfigStatus
  /** Calls `f` after every applied change (not for refused ones). */
  readonly subscribe: (f: (config: ServerConfigShape) => void) => () => void
}>()("@idgen/server/config/LiveConfig") {
  /**
   * Watches `IDGEN_CONFIG` of `env` (default `process.env`) while the layer lives; the
   * initial configuration is `ServerConfig`'s. Candidates pass `checks` too (as at start-up).
   */
  static readonly layer = (env: Record<string, string | undefined> = process.env, checks: ReadonlyArray<Check> = []) =>
    Layer.effect(LiveConfig, make(env, checks))
}

const make = Effect.fnUntraced(function*(env: Record<string, string | undefined>, checks: ReadonlyArray<Check>) {
  const initial = yield* ServerConfig
  const clock = yield* Clock.Clock
  const context = yield* Effect.context<never>()
  const path = env.IDGEN_CONFIG || undefined
  let current = initial
  let overrides: Record<string, unknown> = {}
  let lastReload: ReloadReport | undefined
  let lastError: ReloadFailed | undefined
  const listeners = new Set<(config: ServerConfigShape) => void>()
  const now = () => new Date(clock.currentTimeMillisUnsafe()).toISOString()
  // One candidate at a time: each builds on the overrides the previous one left.
  const serial = Semaphore.makeUnsafe(1)

  // Its lines follow log.format and the level in force, whichever fiber logs them: the file's
  // poll and SIGHUP run in this layer's context, relayed changes in the relay's, both built
  // before the node's logger.
  const logged = LogOutput.through(initial.log.format, () => current.log.level)

  const apply = (source: ReloadReport["source"], nextOverrides: Record<string, unknown>) =>
    logged(applyUnlogged(source, nextOverrides))

  const applyUnlogged = Effect.fnUntraced(function*(source: ReloadReport["source"], nextOverrides: Record<string, unknown>) {
    // The same path as at start-up, admin token bootstrap included (it re-reads the stored one).
    const candidate = yield* Effect.flatMap(load(env, nextOverrides, checks), withAdminToken).pipe(
      Effect.mapError((error: ConfigInvalid | StartFailure) => new ReloadFailed({ source, at: now(), message: error.message })),
      Effect.tapError((error) =>
        Effect.gen(function*() {
          lastError = error
          yield* Metric.update(Metrics.configReloads("failure"), 1)
          yield* Metric.update(Metrics.configLastReloadSuccess, 0)
          yield* Effect.logError(`configuration reload (${source}) refused, keeping the running configuration: ${error.message}`)
        })
      )
    )
    const next = withLive(current, candidate)
    const applied = diffPaths(current, next)
    const restartRequired = diffPaths(next, withLive(candidate, next)).filter((p) => !applied.includes(p))
    const report: ReloadReport = { source, at: now(), applied: applied.map(fileName), restartRequired: restartRequired.map(fileName) }
    overrides = nextOverrides
    lastReload = report
    lastError = undefined
    yield* Metric.update(Metrics.configReloads(applied.length === 0 ? "unchanged" : "success"), 1)
    yield* Metric.update(Metrics.configLastReloadSuccess, 1)
    if (applied.length > 0) {
      current = next
      for (const listener of listeners) listener(next)
      yield* Effect.logInfo(`configuration reloaded (${source}): ${report.applied.join(", ")}`)
    }
    if (restartRequired.length > 0) {
      yield* Effect.logWarning(`configuration changes that need a restart were not applied: ${report.restartRequired.join(", ")}`)
    }
    return report
  })

  const service = LiveConfig.of({
    current: () => current,
    reload: (source) => serial.withPermits(1)(Effect.suspend(() => apply(source, overrides))),
    update: (patch) => {
      const restartOnly = restartOnlyIn(patch)
      return restartOnly.length > 0
        ? Effect.fail(
          new ReloadFailed({
            source: "api",
            at: now(),
            message: `${restartOnly.join(", ")} ${restartOnly.length === 1 ? "is" : "are"} read at start only: ` +
              "set it in the configuration file or the environment and restart the node"
          })
        )
        : serial.withPermits(1)(Effect.suspend(() => apply("api", Tables.mergeDeep(overrides, patch))))
    },
    status: () => ({ configFile: path, lastReload, lastError, overrides }),
    subscribe: (f) => {
      listeners.add(f)
      return () => listeners.delete(f)
    }
  })

  yield* Metric.update(Metrics.configLastReloadSuccess, 1)
  for (const outcome of ["success", "failure", "unchanged"] as const) yield* Metric.value(Metrics.configReloads(outcome))

  // Another worker's change is this one's result as it stands there: its overrides replace
  // these (they were the same before it), through the same validation.
  yield* (yield* OperatorRelay).follow((change) => {
    switch (change._tag) {
      case "ConfigOverrides":
        return Effect.asVoid(serial.withPermits(1)(Effect.suspend(() => apply("api", change.overrides))))
      case "ConfigReload":
        return Effect.asVoid(service.reload("file"))
      default:
        return Effect.void
    }
  })

  // Polls the file's content hash; the interval is itself a live setting. A changed file is
  // reloaded once two consecutive polls read the same content: an editor or `cp` writing in
  // place is seen half-written by one poll, and that content must not count as a reload.
  if (path !== undefined) {
    let seen = fileHash(path)
    let settling: { readonly hash: string; readonly polls: number } | undefined
    const poll = Effect.gen(function*() {
      if (!current.reload.watch) return
      const hash = fileHash(path)
      if (hash === seen) {
        settling = undefined
        return
      }
      // Bounded: a file that never stops changing is read as it is after SETTLE_POLLS polls.
      if (settling?.hash !== hash && (settling?.polls ?? 0) < SETTLE_POLLS) {
        if (settling === undefined) yield* Effect.logInfo(`configuration file ${path} changed, reloading once it stays unchanged for one poll`)
        settling = { hash, polls: (settling?.polls ?? 0) + 1 }
        return
      }
      seen = hash
      settling = undefined
      yield* Effect.ignore(service.reload("file"))
    }).pipe(logged)
    yield* Effect.suspend(() => Effect.sleep(current.reload.pollIntervalMillis)).pipe(
      Effect.andThen(poll),
      Effect.forever,
      Effect.forkScoped
    )
  }

  const onHangup = () => Effect.runForkWith(context)(Effect.ignore(service.reload("signal")))
  process.on("SIGHUP", onHangup)
  yield* Effect.addFinalizer(() => Effect.sync(() => process.off("SIGHUP", onHangup)))

  return service
})

/** Polls a changing file may take to settle before it is reloaded as it is. */
const SETTLE_POLLS = 10

const fileHash = (path: string): string => {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex")
  } catch (error) {
    // Missing or unreadable: a distinct state, so the next readable content counts as a change.
    return `unreadable: ${String(error)}`
  }
}

/** Dotted paths (camelCase, as in `ServerConfigShape`) where `a` and `b` differ. */
export const diffPaths = (a: unknown, b: unknown, prefix = ""): Array<string> => {
  if (Redacted.isRedacted(a) || Redacted.isRedacted(b)) {
    const value = (x: unknown) => (Redacted.isRedacted(x) ? Redacted.value(x) : x)
    return value(a) === value(b) ? [] : [prefix]
  }
  if (Tables.isTable(a) && Tables.isTable(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].flatMap((k) => diffPaths(a[k], b[k], prefix === "" ? k : `${prefix}.${k}`))
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix]
}

/**
 * The file's name of a dotted path of `ServerConfigShape` (`segment.defaultStep` →
 * `segment.default_step`): the setting's file keys, then any keys inside its value as they are
 * (a table's own keys, e.g. `alerting.labels.team`).
 */
export const fileName = (path: string): string => {
  const keys = path.split(".")
  const entry = entries.find((e) => e.code.length <= keys.length && e.code.every((k, i) => keys[i] === k))
  return entry === undefined ? path : [...entry.file, ...keys.slice(entry.code.length)].join(".")
}

/** A reader of the configuration for services that honour live settings. */
export const currentConfig: Effect.Effect<() => ServerConfigShape, never, LiveConfig> = Effect.gen(function*() {
  return (yield* LiveConfig).current
})
