/**
 * Runs once before all suites: checks that the services this machine runs
 * (PostgreSQL on 127.0.0.1:5432) answer, so a missing service fails loudly at the start;
 * installs etcd and libfaketime when missing (Debian packages) and starts the shared
 * 3-member etcd cluster on loopback (unless `IDGEN_TEST_ETCD_ENDPOINTS` names one), which
 * the returned teardown stops.
 */
import { Effect, Exit, Scope } from "effect"
import { connect } from "node:net"
import type { TestProject } from "vitest/node"
import * as EtcdCluster from "./EtcdCluster.ts"
import { ensureInstalled } from "./SystemPackages.ts"

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.end()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

export default async function setup(project: TestProject) {
  if (!(await reachable(5432))) {
    throw new Error("PostgreSQL is not reachable on 127.0.0.1:5432; start it before npm test")
  }
  ensureInstalled()
  const given = process.env["IDGEN_TEST_ETCD_ENDPOINTS"]
  if (given) {
    project.provide("etcdEndpoints", given.split(",").map((s) => s.trim()).filter((s) => s !== ""))
    return
  }
  // Free ports are probed, then bound by etcd: another process can take one in between, so
  // a start that fails is tried again on new ports, its own members stopped first.
  const attempt = Effect.suspend(() => {
    const scope = Scope.makeUnsafe()
    return EtcdCluster.make().pipe(
      Scope.provide(scope),
      Effect.tapError(() => Scope.close(scope, Exit.void)),
      Effect.map((cluster) => ({ cluster, scope }))
    )
  })
  const { cluster, scope } = await Effect.runPromise(attempt.pipe(Effect.retry({ times: 2 })))
  project.provide("etcdEndpoints", cluster.endpoints)
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
