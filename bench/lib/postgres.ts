/**
 * A throw-away PostgreSQL database for one bench run (created and dropped with psql), or
 * `undefined` when no server answers; the bench then uses the embedded store.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres"

const psql = (sql: string): boolean => {
  const r = spawnSync("psql", [ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { encoding: "utf8", timeout: 15_000 })
  return r.status === 0
}

export interface ThrowawayDb {
  readonly name: string
  readonly url: string
  readonly drop: () => void
}

export const createDatabase = (): ThrowawayDb | undefined => {
  const name = `idgen_bench_${randomBytes(5).toString("hex")}`
  if (!psql(`CREATE DATABASE ${name}`)) return undefined
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  let dropped = false
  const drop = () => {
    if (dropped) return
    dropped = true
    psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
  return { name, url: url.toString(), drop }
}
