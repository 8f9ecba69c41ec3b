/**
 * `npm run chaos [full|smoke]`: the chaos run of issue 11 on this machine's loopback, with
 * its own PostgreSQL pair, Redis, etcd and idgen nodes. Prints progress, then the table and
 * the checks; writes `report.json`/`report.txt` under test/chaos/results/ (git-ignored).
 * Exit code 1 when a check fails. IDGEN_CHAOS_KEEP_IDS=1 keeps every ID file.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { join } from "node:path"
import * as ChaosRun from "./ChaosRun.ts"
import { profiles } from "./Profiles.ts"
import { table } from "./Report.ts"
import { checks } from "./Verdict.ts"

const name = process.argv[2] ?? "full"
const profile = profiles[name]
if (profile === undefined) {
  console.error(`unknown profile ${name}; one of ${Object.keys(profiles).join(", ")}`)
  process.exit(2)
}

Effect.gen(function*() {
  const report = yield* ChaosRun.run(profile, {
    resultsRoot: join(import.meta.dirname, "results"),
    keepIds: process.env["IDGEN_CHAOS_KEEP_IDS"] === "1"
  })
  console.log(`\n${table(report)}\n`)
  let failed = false
  for (const check of checks) {
    const verdict = check.judge(report, profile.minIds)
    failed ||= !verdict.ok
    console.log(`${verdict.ok ? "PASS" : "FAIL"}  ${check.name}: ${verdict.detail}`)
  }
  console.log(`\nreport: ${join(report.resultsDir, "report.json")}`)
  if (failed) process.exitCode = 1
}).pipe(Effect.scoped, NodeRuntime.runMain)
