import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import * as HolderRecord from "@idgen/server/snowflake/HolderRecord"

const slot = { datacenterId: 1, workerId: 7 }

/** A data directory of the test's own with `recorded` as slot 1/7's record. */
const withRecord = (recorded: unknown, f: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), "idgen-holder-"))
  try {
    writeFileSync(join(dir, "snowflake-worker-1-7.json"), JSON.stringify(recorded))
    f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!

describe("HolderRecord", () => {
  it("the holder recorded by a process that no longer runs on this host is gone", () =>
    withRecord({ holder: "n#1", pid: deadPid(), host: hostname() }, (dir) => assert.strictEqual(HolderRecord.goneHolder(dir, slot), "n#1")))

  it("a holder whose process runs (the parent of this one), or recorded on another host, is not", () => {
    withRecord({ holder: "n#2", pid: process.ppid, host: hostname() }, (dir) => assert.isUndefined(HolderRecord.goneHolder(dir, slot)))
    withRecord({ holder: "n#3", pid: deadPid(), host: `${hostname()}-other` }, (dir) =>
      assert.isUndefined(HolderRecord.goneHolder(dir, slot)))
  })

  it("no record, or an unreadable one: none gone", () => {
    const dir = mkdtempSync(join(tmpdir(), "idgen-holder-"))
    try {
      assert.isUndefined(HolderRecord.goneHolder(dir, slot))
      writeFileSync(join(dir, "snowflake-worker-1-7.json"), "{not json")
      assert.isUndefined(HolderRecord.goneHolder(dir, slot))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("record writes what goneHolder reads for this process's own pid (a restarted container's pid 1)", () => {
    const parent = mkdtempSync(join(tmpdir(), "idgen-holder-"))
    try {
      // The data directory is created when missing.
      HolderRecord.record(join(parent, "data"), slot, "n#4")
      assert.strictEqual(HolderRecord.goneHolder(join(parent, "data"), slot), "n#4")
    } finally {
      rmSync(parent, { recursive: true, force: true })
    }
  })
})
