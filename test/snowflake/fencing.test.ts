/**
 * Fencing on a real etcd cluster of its own (3 members on loopback): a server issues
 * snowflake IDs while two of the three members are killed (no quorum). It must stop
 * issuing within `ttl - fencing margin` of its last successful keep-alive — before the
 * lease could expire on the etcd side — report not ready, and resume once the members are
 * back. Twice: once with a follower surviving (no keep-alive succeeds after the cut), once
 * with the leader surviving (it renews until it steps down). Then its lease is cut
 * (revoked behind its back): it acquires a worker id again and carries on. No ID is
 * issued twice over the whole run.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { Etcd3 } from "etcd3"
import * as EtcdCluster from "../support/EtcdCluster.ts"
import {
  assertError,
  createBizTag,
  make as startServer,
  ServerProcess,
  wait,
  workspaceWithKey
} from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import { type Answer, decode, duplicatesIn, etcdEnv, firstNonIncreasing, generateWhile, metricValue, registry, snowflakeIds, summary } from "../support/SnowflakeCluster.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const TTL_SECONDS = 3
const MARGIN_MS = 1000
const PREFIX = "/idgen-fencing"

class Cluster extends Context.Service<Cluster, EtcdCluster.EtcdClusterShape>()("test/snowflake/Cluster") {}

const Env = Layer.effect(ServerProcess, Effect.gen(function*() {
  const cluster = yield* Cluster
  const databaseUrl = yield* Effect.orDie(TestDatabase.make)
  return yield* startServer(databaseUrl, {
    env: etcdEnv(cluster.endpoints, PREFIX, {
      IDGEN_NODE_NAME: "fenced",
      IDGEN_ETCD_LEASE_TTL_SECONDS: String(TTL_SECONDS),
      IDGEN_ETCD_FENCING_MARGIN_MS: String(MARGIN_MS),
      IDGEN_ETCD_REQUEST_TIMEOUT_MS: "500"
    })
  })
})).pipe(Layer.provideMerge(Layer.effect(Cluster, EtcdCluster.make())))

layer(Env, { timeout: 180_000, excludeTestServices: true })("fencing on etcd", (it) => {
  it.effect("no quorum → stops within ttl - margin and is not ready; resumes after; lease cut → re-acquires", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const cluster = yield* Cluster
      const apiKey = yield* workspaceWithKey(server, { name: "fence" })
      yield* createBizTag(server, "fence", { group: "g", name: "snow", algorithm: "snowflake" })
      yield* createBizTag(server, "fence", { group: "g", name: "snowfb", algorithm: "snowflake", fallback: ["uuid_v7"] })

      let stopped = false
      const answers: Array<Answer> = []
      const client = yield* Effect.forkChild(
        generateWhile(server, apiKey, { workspace: "fence", group: "g" }, ["snow", "snowfb"], 100, () => stopped, answers)
      )
      yield* wait(1500)
      const healthy = (yield* server.request("GET", "/metrics")).text
      assert.strictEqual(metricValue(healthy, "idgen_snowflake_worker_id_held"), 1)
      assert.isBelow(metricValue(healthy, "idgen_snowflake_lease_age_seconds"), TTL_SECONDS - MARGIN_MS / 1000)
      assert.isAbove(metricValue(healthy, "idgen_snowflake_ceiling_ahead_seconds"), 0)

      const snowIssued = () => snowflakeIds(answers.filter((a) => a.tag === "snow"))
      /**
       * No snowflake ID may carry a timestamp from `boundAt + ttl` (the earliest the lease
       * could expire on the etcd side) until `until` (the quorum is back). An ID's timestamp
       * is the server's clock when it was issued (same machine), not when a busy client saw it.
       */
      const assertNothingIssuedAfter = (boundAt: number, until: number, what: string) => {
        const late = snowIssued().filter((id) => {
          const ms = decode(id).timestampMs
          return ms >= boundAt + TTL_SECONDS * 1000 && ms < until
        })
        assert.deepStrictEqual(late.map((id) => decode(id).timestampMs - boundAt), [], what)
      }
      const lastIssuedBefore = (until: number) =>
        snowIssued().reduce((last, id) => {
          const ms = decode(id).timestampMs
          return ms < until && ms > last ? ms : last
        }, -Infinity)
      /** Kills two members at once, leaving `survivor`; the returned restart brings them back. */
      const loseQuorum = Effect.fnUntraced(function*(survivor: number) {
        const killed = [0, 1, 2].filter((i) => i !== survivor)
        yield* Effect.forEach(killed, (i) => cluster.stop(i), { concurrency: "unbounded", discard: true })
        return { at: Date.now(), restore: Effect.forEach(killed, (i) => cluster.start(i), { concurrency: "unbounded", discard: true }) }
      })
      const awaitResumed = Effect.fnUntraced(function*(healAt: number) {
        const resumed = yield* eventually(
          "snowflake issuing again",
          30_000,
          Effect.sync(() => answers.find((a) => a.sent > healAt && a.tag === "snow" && a.status === 200))
        )
        yield* eventually("ready again", 10_000, Effect.map(server.request("GET", "/ready"), (r) => r.status === 200 || undefined))
        return resumed
      })
      const etcdLeader = eventually("an etcd leader", 30_000, cluster.leader)

      // Outage 1, the surviving member a follower: it forwards keep-alives to a leader that
      // is gone and none can be elected, so no keep-alive sent after the cut can succeed.
      const firstLeader = yield* etcdLeader
      const outage = yield* loseQuorum((firstLeader + 1) % 3)
      const cutAt = outage.at
      const firstRefusal = yield* eventually(
        "snowflake refused",
        TTL_SECONDS * 1000 + 2000,
        Effect.sync(() => answers.find((a) => a.sent > cutAt && a.tag === "snow" && a.status !== 200))
      )
      const fencingDelayMs = firstRefusal.sent - cutAt
      assert.strictEqual(firstRefusal.code, "IDGEN-SNOW-2003")
      // Not ready once fenced (a keep-alive answered late may lift the fence for a moment).
      const notReady = yield* eventually("not ready", TTL_SECONDS * 1000,
        Effect.map(server.request("GET", "/ready"), (r) => r.status === 503 ? r : undefined))
      assertError(notReady, 503, "IDGEN-COMMON-0005")
      const refused = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "fence", group: "g", biz_tag: "snow" }
      })
      const refusal = assertError(refused, 503, "IDGEN-SNOW-2003").message
      const silentMs = Number(/has not confirmed the lease for (\d+) ms/.exec(refusal)?.[1])
      // Fenced once ttl - margin passed since the last confirmed keep-alive (a timer-free
      // check on every issue), and this request was refused while the lease could still
      // be alive or later: never issued at or after ttl.
      assert.isAtLeast(silentMs, TTL_SECONDS * 1000 - MARGIN_MS, refusal)
      const fallback = yield* server.request("POST", "/api/v1/generate", {
        apiKey,
        json: { workspace: "fence", group: "g", biz_tag: "snowfb" }
      })
      assert.strictEqual(fallback.json.algorithm, "uuid_v7", fallback.text)
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.match(metrics, /idgen_snowflake_fenced_total [1-9]/)
      assert.match(metrics, /idgen_snowflake_worker_id_held 0/)

      // Quorum back: issuing resumes (same id if the lease survived, another one otherwise).
      yield* wait(1000)
      const healAt = Date.now()
      // The safety property: the last successful keep-alive was sent before the cut, so the
      // lease cannot expire before ttl after it, and nothing may be issued after that.
      assertNothingIssuedAfter(cutAt, healAt, "issued after the lease could have expired (surviving member a follower)")
      const lastIssuedMs = lastIssuedBefore(healAt) - cutAt
      yield* outage.restore
      const resumed = yield* awaitResumed(healAt)
      yield* wait(1000)

      // Outage 2, the surviving member the leader: etcd 3.4 lets a leader that lost its
      // quorum renew leases until it steps down (about two election timeouts; a new leader
      // extends every lease by ttl when elected, which keeps that safe). So the bound runs
      // from when the survivor is seen without a leader, which is after its last renewal —
      // its own answer saying so: a status read that fails or times out proves nothing.
      const secondLeader = yield* etcdLeader
      const outage2 = yield* loseQuorum(secondLeader)
      const steppedDownAt = yield* eventually(
        "the surviving leader steps down",
        10_000,
        Effect.map(cluster.hasLeader(secondLeader), (has) => has === false ? Date.now() : undefined),
        20
      )
      yield* eventually(
        "snowflake refused again",
        TTL_SECONDS * 1000 + 2000,
        Effect.sync(() => answers.find((a) => a.sent > steppedDownAt && a.tag === "snow" && a.status !== 200))
      )
      yield* wait(1000)
      const healAt2 = Date.now()
      assertNothingIssuedAfter(steppedDownAt, healAt2, "issued after the lease could have expired (surviving member the leader)")
      const lastIssuedMs2 = lastIssuedBefore(healAt2) - outage2.at
      yield* outage2.restore
      const resumedLast = yield* awaitResumed(healAt2)
      yield* wait(1000)

      // Cut the lease behind the server's back.
      const inspector = yield* registry(cluster.endpoints, PREFIX)
      const workerBefore = decode(resumedLast.ids[0]!).workerId
      const record = yield* inspector.inspect(workerBefore)
      assert.strictEqual(record.holder, "fenced")
      const acquisitions = () =>
        Effect.map(server.request("GET", "/metrics"), (r) => metricValue(r.text, "idgen_snowflake_worker_acquisitions_total"))
      const acquiredBefore = yield* acquisitions()
      const outputBeforeCut = server.output().length
      const etcd = new Etcd3({ hosts: [...cluster.endpoints] })
      yield* Effect.promise(() => etcd.leaseClient.leaseRevoke({ ID: record.leaseId! }))
      etcd.close()
      yield* eventually(
        "worker id re-acquired",
        15_000,
        Effect.map(acquisitions(), (n) => n > acquiredBefore || undefined)
      )
      const reacquiredAt = Date.now()
      const issuingAgain = yield* eventually(
        "issuing after the re-acquisition",
        10_000,
        Effect.sync(() => answers.find((a) => a.sent > reacquiredAt && a.tag === "snow" && a.status === 200))
      )
      yield* wait(1000)
      stopped = true
      yield* Fiber.join(client)
      // Its own id back, with a ceiling only it wrote: no waiting out its own reservation
      // (10 s ahead by default), which would be said as a warning.
      assert.notMatch(server.output().slice(outputBeforeCut), /behind the timestamp ceiling/, "waited out its own reservation")

      const ids = snowflakeIds(answers)
      assert.strictEqual(duplicatesIn(ids), 0, "an ID was issued twice")
      assert.strictEqual(firstNonIncreasing(ids), -1, "IDs went back")
      const unexpected = answers.filter((a) => a.status !== 200 && a.code !== "IDGEN-SNOW-2003")
      assert.deepStrictEqual(unexpected.map(summary), [])
      console.log(
        `fencing: stopped issuing ${fencingDelayMs} ms after the quorum was lost, ` +
          `${silentMs} ms after the last confirmed keep-alive ` +
          `(bound ttl - margin = ${TTL_SECONDS * 1000 - MARGIN_MS} ms after the last keep-alive; lease ttl ${TTL_SECONDS * 1000} ms), ` +
          `last ID ${lastIssuedMs} ms after the cut; with the leader surviving: it stepped down ` +
          `${steppedDownAt - outage2.at} ms after the cut, last ID ${lastIssuedMs2} ms after the cut; ` +
          `resumed ${resumed.sent - healAt} ms after the members were started; ` +
          `lease cut: issuing again ${issuingAgain.at - reacquiredAt} ms after the re-acquisition was seen; ` +
          `${ids.length} snowflake IDs, no duplicate`
      )
    }), { timeout: 180_000 })
})
