/**
 * Per-request metrics of the generate operations: latency by interface/algorithm/outcome,
 * IDs handed out, errors by code and rate-limit rejections (interface, algorithm, outcome and
 * error code are all bounded label values).
 *
 * Built for the hot path: the metric objects of every label combination are made once
 * (their registry key is cached inside the metric), so a request costs one
 * `performance.now()`, a histogram bucket search and a counter add — no Effect, no
 * allocation. `performance.now()` rather than `Clock`: this is a monotonic duration, not a
 * point in time, and it must have sub-millisecond resolution.
 *
 * The HTTP fast path calls `recorder` directly; Effect-based callers (the HTTP router's
 * generate handlers, gRPC, RPC) wrap their generate effect with `observe`.
 */
import { Errors, Names } from "@idgen/core"
import { type Context, Effect, Exit, Cause, Layer, Metric } from "effect"
import type { GenerateResult } from "./IdService.ts"

export type Interface = "http" | "grpc" | "rpc"
export type Outcome = "success" | "client_error" | "server_error"

/** Request latencies from ~100 µs (a buffered take) to seconds (a stalled database). */
export const latencyBoundaries: ReadonlyArray<number> = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
]

export const requestDuration = (attributes: { interface: Interface; algorithm: string; outcome: Outcome }) =>
  Metric.histogram("idgen_request_duration_seconds", {
    description: "Latency of generate requests (single and batch) by interface, algorithm (none when no ID was issued) and outcome",
    boundaries: latencyBoundaries,
    attributes
  })

export const idsGenerated = (attributes: { interface: Interface; algorithm: string }) =>
  Metric.counter("idgen_ids_generated_total", {
    description: "IDs handed out to callers, by interface and the algorithm that produced them",
    incremental: true,
    attributes
  })

export const requestErrors = (attributes: { interface: Interface; code: string }) =>
  Metric.counter("idgen_request_errors_total", {
    description: "Failed generate requests by interface and IDGEN error code",
    incremental: true,
    attributes
  })

export const rateLimitRejections = (attributes: { interface: Interface }) =>
  Metric.counter("idgen_rate_limit_rejections_total", {
    description: "Requests refused with IDGEN-COMMON-0003 (rate limit), by interface",
    incremental: true,
    attributes
  })

export interface RequestRecorder {
  /** The start mark to hand back to `success`/`failure`. */
  readonly start: () => number
  readonly success: (startMs: number, algorithm: string, count: number) => void
  /** `undefined`: not an IDGEN error (a defect), counted as IDGEN-COMMON-0004. */
  readonly failure: (startMs: number, error: Errors.IdgenError | undefined) => void
}

const internalCode = Errors.InternalError.code

/** A recorder for one interface, updating the registry found in `context`. */
export const recorder = (iface: Interface, context: Context.Context<never>): RequestRecorder => {
  // Per algorithm, the success series: looked up by the algorithm string alone (no key building per request).
  const successes = new Map<string, {
    readonly duration: ReturnType<typeof requestDuration>
    readonly generated: ReturnType<typeof idsGenerated>
  }>()
  const failureDurations = {
    client_error: requestDuration({ interface: iface, algorithm: "none", outcome: "client_error" }),
    server_error: requestDuration({ interface: iface, algorithm: "none", outcome: "server_error" })
  }
  const errors = new Map<string, ReturnType<typeof requestErrors>>()
  const rateLimited = rateLimitRejections({ interface: iface })

  return {
    start: () => performance.now(),
    success: (startMs, algorithm, count) => {
      let series = successes.get(algorithm)
      if (series === undefined) {
        series = {
          duration: requestDuration({ interface: iface, algorithm, outcome: "success" }),
          generated: idsGenerated({ interface: iface, algorithm })
        }
        successes.set(algorithm, series)
      }
      series.duration.updateUnsafe((performance.now() - startMs) / 1000, context)
      series.generated.updateUnsafe(count, context)
    },
    failure: (startMs, error) => {
      const seconds = (performance.now() - startMs) / 1000
      const code = error === undefined ? internalCode : Errors.codeOf(error)
      const outcome = error === undefined || Errors.statusOf(error) >= 500 ? "server_error" : "client_error"
      failureDurations[outcome].updateUnsafe(seconds, context)
      let counter = errors.get(code)
      if (counter === undefined) {
        counter = requestErrors({ interface: iface, code })
        errors.set(code, counter)
      }
      counter.updateUnsafe(1, context)
      if (error?._tag === "RateLimitExceeded") rateLimited.updateUnsafe(1, context)
    }
  }
}

/**
 * Records the outcome of a generate effect (for interfaces that run one Effect per
 * request). Interruptions (client gone, deadline) are not counted: nobody got an answer.
 */
export const observe = (iface: Interface) => {
  let cached: RequestRecorder | undefined
  return <E extends Errors.IdgenError, R>(
    effect: Effect.Effect<GenerateResult, E, R>
  ): Effect.Effect<GenerateResult, E, R> =>
    Effect.contextWith((context: Context.Context<never>) => {
      const rec = (cached ??= recorder(iface, context))
      const startMs = rec.start()
      return Effect.onExit(effect, (exit) => {
        if (Exit.isSuccess(exit)) {
          rec.success(startMs, exit.value.algorithm, exit.value.ids.length)
        } else if (!Cause.hasInterruptsOnly(exit.cause)) {
          const failure = Cause.findErrorOption(exit.cause)
          rec.failure(startMs, failure._tag === "Some" ? failure.value : undefined)
        }
        return Effect.void
      })
    })
}

const interfaces: ReadonlyArray<Interface> = ["http", "grpc", "rpc"]

/**
 * Puts the series of every interface on the page at zero from the start (IDs per algorithm,
 * errors per code, failed-request latency, rate-limit refusals), so `rate()` and alerts see
 * them before their first event. Successful-request latency appears per algorithm with its
 * first use: a histogram per interface and algorithm is 18 lines.
 */
export const layer: Layer.Layer<never> = Layer.effectDiscard(
  Effect.contextWith((context: Context.Context<never>) => {
    for (const iface of interfaces) {
      for (const algorithm of Names.Algorithm.literals) idsGenerated({ interface: iface, algorithm }).valueUnsafe(context)
      for (const error of Errors.errorClasses) requestErrors({ interface: iface, code: error.code }).valueUnsafe(context)
      for (const outcome of ["client_error", "server_error"] as const) {
        requestDuration({ interface: iface, algorithm: "none", outcome }).valueUnsafe(context)
      }
      rateLimitRejections({ interface: iface }).valueUnsafe(context)
    }
    return Effect.void
  })
)
