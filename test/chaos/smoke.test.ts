/**
 * The chaos run's smoke size inside `npm test`: its own PostgreSQL pair, Redis, 3-member
 * etcd and 3 idgen nodes on loopback, load over HTTP, gRPC and Effect RPC (single and
 * batch) on every biz_tag kind, and every fault kind at least once, overlapping (node
 * kills every 10 s, one restart 2 s behind; PostgreSQL restart and failover; etcd leader
 * kill and quorum loss; Redis killed empty and restored from an older snapshot; clock
 * steps of −10 ms, −500 ms and −5 s). One run; each check of `Verdict.ts` is a test.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import * as ChaosRun from "./ChaosRun.ts"
import { smoke } from "./Profiles.ts"
import { type ChaosReport, table } from "./Report.ts"
import { checks } from "./Verdict.ts"

class SmokeReport extends Context.Service<SmokeReport, ChaosReport>()("test/chaos/SmokeReport") {}

const smokeRun = Layer.effect(
  SmokeReport,
  Effect.tap(
    ChaosRun.run(smoke, { resultsRoot: join(import.meta.dirname, "results") }),
    (report) => Effect.sync(() => console.log(table(report)))
  )
)

layer(smokeRun, { excludeTestServices: true, timeout: 240_000 })("chaos run, smoke size", (it) => {
  for (const check of checks) {
    it.effect(check.name, () =>
      Effect.gen(function*() {
        const verdict = check.judge(yield* SmokeReport, smoke.minIds)
        assert.isTrue(verdict.ok, verdict.detail)
      }))
  }
})
