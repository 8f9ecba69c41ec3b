/**
 * What this process is, run by `main.js` (`npm start`) and by `idgen serve`: configuration
 * comes from IDGEN_* variables and the optional IDGEN_CONFIG file; with no IDGEN_DATABASE_URL
 * the node runs on its embedded store.
 *
 * With `node.workers` (IDGEN_WORKERS) above 1 this process becomes the primary of that many
 * worker processes (`cluster/Supervisor.ts`), each of which runs the whole node; with one
 * worker (and always on the embedded store, see `cluster/WorkerPlan.ts`) it is the node.
 */
// From its own module: the package's index loads every module of it, node-redis's ≈ 650 included
// (≈ 0.3 s of every start; HttpServer.ts and MetricsEndpoint.ts do the same).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import cluster from "node:cluster"
import * as Supervisor from "./cluster/Supervisor.ts"
import * as WorkerPlan from "./cluster/WorkerPlan.ts"
import * as WorkerProcess from "./cluster/WorkerProcess.ts"
import { load } from "./config/ConfigLoader.ts"
import { ServerConfig, type ServerConfigShape } from "./config/ServerConfig.ts"
import * as UnknownVariables from "./config/UnknownVariables.ts"
import * as LogOutput from "./logging/LogOutput.ts"
import * as StartFailure from "./StartFailure.ts"
import { EmbeddedStore } from "./storage/EmbeddedStore.ts"

let supervisor: Supervisor.Supervisor | undefined

/**
 * The node itself, with `extra` under it; loaded on demand so that a primary stays small.
 * `started` runs once the whole node is built (every port bound). `early` is built before that load, in the memo map the node's layers are built with, and
 * the node's layers get what it built (a layer is built once per memo map). Not in a fiber
 * of its own: none would run before the load ends (loading the modules keeps the event loop
 * from its timers).
 */
const node = <A = never, E = never>(extra: Layer.Layer<never>, started: Effect.Effect<void>, early?: Layer.Layer<A, E>) =>
  Effect.gen(function*() {
    const memoMap = yield* Layer.makeMemoMap
    if (early !== undefined) yield* Layer.buildWithMemoMap(early, memoMap, yield* Effect.scope)
    const App = yield* Effect.promise(() => import("./App.ts"))
    const app = App.layer.pipe(Layer.provide(extra))
    return yield* Layer.launch(Layer.effectDiscard(started).pipe(Layer.provideMerge(app))).pipe(
      Effect.provideService(Layer.CurrentMemoMap, memoMap)
    )
  }).pipe(Effect.scoped)

/**
 * The embedded store, begun early: its thread makes a first start's data directory and opens
 * PGlite (≈ 1 s) on another core while this one loads the node's modules (≈ 1 s). The layer
 * only starts the thread; the node's database layer waits until the store serves.
 */
const embeddedStore = (config: ServerConfigShape) =>
  EmbeddedStore.layer.pipe(
    Layer.provide(Layer.succeed(ServerConfig, config)),
    Layer.provide(LogOutput.layer(config.log.format, () => config.log.level))
  )

const main = Effect.gen(function*() {
  if (cluster.isWorker) {
    return yield* node(WorkerProcess.layer(process.env[WorkerPlan.INDEX_VARIABLE] ?? "0"), StartFailure.announceServing)
  }
  const config = yield* load(process.env)
  yield* UnknownVariables.warn(process.env).pipe(LogOutput.through(config.log.format, () => config.log.level))
  const plan = yield* WorkerPlan.plan(config)
  if (plan.workers === 1) {
    const started = plan.note === undefined ? Effect.void : Effect.logInfo(plan.note)
    return yield* node(Layer.empty, started, config.database.url === undefined ? embeddedStore(config) : undefined)
  }
  supervisor = Supervisor.make(config, plan)
  return yield* supervisor.run.pipe(Effect.provide(LogOutput.layer(config.log.format, () => config.log.level)))
})

/** The process as a node or a primary until interrupted; a start failure ends it with its line and exit code. */
export const launch = main.pipe(StartFailure.exitOnFailure)

/** The exit code of a process that ran `launch`: a primary stopped by a signal exits 0 when every worker drained, 1 otherwise. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  supervisor !== undefined && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
    ? onExit(supervisor.drainedCleanly() ? 0 : 1)
    : Runtime.defaultTeardown(exit, onExit)

/** `launch` as the process's main program (`npm start`; a worker process of either). */
export const run = (): void => NodeRuntime.runMain(launch, { teardown })
