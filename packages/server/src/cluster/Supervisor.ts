/**
 * The primary of an instance with several worker processes (`node:cluster`). It serves
 * nothing itself: the listening sockets are its own, and it hands each accepted connection
 * to the next worker in turn (Node's round-robin); a keep-alive connection stays with the
 * worker that got it. It
 *
 * - forks `plan.workers` workers, each the whole node (`App.ts`, see `WorkerPlan`);
 * - restarts a worker that exits while the instance runs (kill -9, a crash, a fatal error),
 *   after a backoff: 100 ms, doubling up to 10 s, back to 100 ms once a worker ran 30 s;
 * - stops the instance when a worker cannot start for a reason the operator must fix (a
 *   `StartFailure`: a port taken or the database unreachable after its bounded retry, 69)
 *   before any worker of the instance served: the instance never came up, a restart would
 *   fail again, and every worker would print the same reason with a growing backoff, for
 *   ever. The worker hands its one-line reason to the primary (`StartFailure.exitOnFailure`),
 *   which prints it once and exits with the worker's code. Once a worker served, the
 *   instance is up: a worker that cannot start then (the database went away while it was
 *   still starting, or before its restart) is restarted as after a crash, and comes back
 *   with the database while the others serve. A refused configuration (78) always stops
 *   the instance: it is refused again;
 * - on SIGTERM or SIGINT sends SIGTERM to every worker, which drains as a single node does,
 *   and waits for them (one still running after 60 s is killed): `drainedCleanly()` says
 *   whether every one of them ended by draining (the process then exits 0, else 1);
 * - forwards SIGHUP (each worker reloads its configuration file);
 * - relays operator changes held in memory between the workers, and gives each worker the
 *   ones in force when it starts (`OperatorHub`).
 */
import { Clock, Effect } from "effect"
import cluster, { type Worker } from "node:cluster"
import { createServer } from "node:net"
import type { ServerConfigShape } from "../config/ServerConfig.ts"
import * as StartFailure from "../StartFailure.ts"
import * as OperatorHub from "./OperatorHub.ts"
import { type WorkerPlan, workerEnv } from "./WorkerPlan.ts"

const FIRST_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 10_000
/** A worker that ran this long before it exited is restarted after the first backoff again. */
const STABLE_MS = 30_000
const DRAIN_TIMEOUT_MS = 60_000
/** How a node ends when a signal interrupted it (Effect's `runMain`), after its finalizers ran. */
const INTERRUPTED_EXIT = 130

interface Ended {
  readonly code: number | null
  readonly signal: string | null
  /** The reason the worker sent before it exited, when it could not start. */
  readonly startFailed: StartFailure.StartFailure | undefined
}

const describe = ({ code, signal }: Ended) => (signal === null ? `exit code ${code}` : `signal ${signal}`)
/** Drained: ended by its own shutdown, or by the primary's SIGTERM before it listened for signals (nothing to drain yet). */
const drained = ({ code, signal }: Ended) => signal === null ? code === 0 || code === INTERRUPTED_EXIT : signal === "SIGTERM"

/**
 * Port 0 (any free port) is resolved once, here: every worker must listen on the same ports,
 * and Node shares a port-0 socket between workers by the order of their `listen` calls,
 * which the HTTP and gRPC servers do not keep. The probes stay open until all are bound, so
 * that the ports differ.
 */
const resolvePorts = (host: string, ports: ReadonlyArray<number>) =>
  Effect.promise(async () => {
    const probes = ports.map(() => createServer())
    const bound = await Promise.all(ports.map((port, i) =>
      port !== 0 ? port : new Promise<number>((resolve, reject) => {
        const probe = probes[i]!
        probe.once("error", reject)
        probe.listen(0, host, () => {
          const address = probe.address()
          resolve(typeof address === "object" && address !== null ? address.port : 0)
        })
      })
    ))
    await Promise.all(probes.map((probe) => new Promise((resolve) => (probe.listening ? probe.close(resolve) : resolve(undefined)))))
    return bound
  })

export interface Supervisor {
  readonly run: Effect.Effect<never, StartFailure.StartFailure>
  /** After `run` was interrupted: every worker ended by draining. */
  readonly drainedCleanly: () => boolean
}

export const make = (config: ServerConfigShape, plan: WorkerPlan): Supervisor => {
  const stops: Array<Ended> = []
  /** Some worker said it served: the instance came up. */
  let instanceServed = false
  const live = new Set<Worker>()
  const forwardHangup = () => {
    for (const worker of live) worker.process.kill("SIGHUP")
  }

  /** One worker process from fork to exit; interrupted: SIGTERM, then wait for its drain. */
  const incarnation = (hub: OperatorHub.OperatorHub, index: number, env: Record<string, string>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const worker = cluster.fork(env)
        live.add(worker)
        hub.attach(worker, index)
        let startFailed: StartFailure.StartFailure | undefined
        worker.on("message", (message: unknown) => {
          const report = StartFailure.decodeReport(message)
          if (report._tag === "None") return
          if (report.value._tag === "Serving") instanceServed = true
          else startFailed = new StartFailure.StartFailure({ message: report.value.message, exitCode: report.value.exitCode })
        })
        const ended = new Promise<Ended>((resolve) =>
          worker.once("exit", (code: number | null, signal: string | null) => {
            live.delete(worker)
            resolve({ code, signal, startFailed })
          })
        )
        return { worker, ended }
      }),
      ({ ended, worker }) =>
        Effect.logInfo(`worker ${index} started (pid ${worker.process.pid})`).pipe(
          Effect.andThen(Effect.promise(() => ended))
        ),
      ({ ended, worker }, exit) =>
        exit._tag === "Success" ? Effect.void : Effect.promise(async () => {
          if (live.has(worker)) worker.process.kill("SIGTERM")
          const timer = setTimeout(() => worker.process.kill("SIGKILL"), DRAIN_TIMEOUT_MS)
          const end = await ended.finally(() => clearTimeout(timer))
          stops.push(end)
          return end
        }).pipe(Effect.flatMap((end) => Effect.logInfo(`worker ${index} (pid ${worker.process.pid}) stopped: ${describe(end)}`)))
    )

  /** Keeps worker `index` running until the instance stops. */
  const slot = (hub: OperatorHub.OperatorHub, index: number, env: Record<string, string>) =>
    Effect.gen(function*() {
      let backoffMs = FIRST_BACKOFF_MS
      while (true) {
        const startedMs = yield* Clock.currentTimeMillis
        const end = yield* incarnation(hub, index, env)
        const failure = end.startFailed ?? (end.code !== null && StartFailure.exitCodes.includes(end.code)
          ? new StartFailure.StartFailure({ message: `worker ${index} could not start (exit code ${end.code}, see its log above)`, exitCode: end.code })
          : undefined)
        if (failure !== undefined && (!instanceServed || failure.exitCode === StartFailure.EXIT_CONFIG)) return yield* failure
        const ranMs = (yield* Clock.currentTimeMillis) - startedMs
        if (ranMs >= STABLE_MS) backoffMs = FIRST_BACKOFF_MS
        const why = failure === undefined ? `exited (${describe(end)}) after ${ranMs} ms` : `could not start (${failure.message})`
        yield* Effect.logWarning(`worker ${index} ${why}; restarting it in ${backoffMs} ms`)
        yield* Effect.sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS)
      }
    })

  const run = Effect.gen(function*() {
    const [http = 0, grpc = 0, metrics] = yield* resolvePorts(config.http.host, [
      config.http.port,
      config.grpc.port,
      ...(config.metrics.port === undefined ? [] : [config.metrics.port])
    ])
    const ports = { http, grpc, metrics }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGHUP", forwardHangup)),
      () => Effect.sync(() => process.off("SIGHUP", forwardHangup))
    )
    const hub = yield* OperatorHub.make
    yield* Effect.forkScoped(hub.run)
    yield* Effect.logInfo(
      `${plan.workers} worker processes on HTTP ${config.http.host}:${ports.http}, gRPC ${ports.grpc}` +
        `${metrics === undefined ? "" : `, metrics ${metrics}`} (primary pid ${process.pid})`
    )
    return yield* Effect.forEach(
      Array.from({ length: plan.workers }, (_, index) => index),
      (index) => slot(hub, index, workerEnv(config, index, ports)),
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.andThen(Effect.never))
  }).pipe(Effect.scoped)

  return { run, drainedCleanly: () => stops.every(drained) }
}
