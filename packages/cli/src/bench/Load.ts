/**
 * A closed-loop load: `concurrency` callers, each issuing its next call as soon as the last
 * one answered, for a warm-up and then a measured window; every call's latency is kept.
 */
import type { Driver } from "./Drivers.ts"
import { type Summary, summarize } from "./Stats.ts"

export interface LoadOptions {
  readonly concurrency: number
  readonly warmupSeconds: number
  readonly seconds: number
  /** Called about every 250 ms during the measured window. */
  readonly onProgress?: ((elapsedSeconds: number, calls: number, ids: number, errors: number) => void) | undefined
}

export const run = async (driver: Driver, options: LoadOptions): Promise<Summary> => {
  const warmupEnd = performance.now() + options.warmupSeconds * 1000
  let measuring = false
  let start = 0
  let end = Number.POSITIVE_INFINITY
  const latencies: Array<number> = []
  let ids = 0
  let errors = 0
  let firstError: string | undefined

  const caller = async () => {
    while (true) {
      const began = performance.now()
      if (began >= end) return
      try {
        const n = await driver.call()
        const done = performance.now()
        // Only calls wholly inside the measured window count.
        if (measuring && began >= start && done <= end) {
          latencies.push(done - began)
          ids += n
        }
      } catch (error) {
        if (measuring) errors++
        firstError ??= error instanceof Error ? error.message : String(error)
        // Stop hammering a server that refuses: the summary reports it.
        if (errors > 100 && errors > latencies.length) return
      }
    }
  }

  const callers = Array.from({ length: options.concurrency }, caller)
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, warmupEnd - performance.now())))
  measuring = true
  start = performance.now()
  end = start + options.seconds * 1000
  const ticker = options.onProgress === undefined
    ? undefined
    : setInterval(() => options.onProgress!((performance.now() - start) / 1000, latencies.length, ids, errors), 250)
  await Promise.all(callers)
  if (ticker !== undefined) clearInterval(ticker)
  return summarize(driver.name, latencies, ids, errors, options.seconds, firstError)
}
