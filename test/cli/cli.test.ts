/**
 * The `idgen` command line run as a user runs it — a separate process, arguments and
 * environment in, text out — against a real server: operator commands, gen, parse, bench,
 * migrate and serve, with their output checked.
 */
import { assert, layer } from "@effect/vitest"
import * as PortFile from "@idgen/server/ports/PortFile"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { eventually } from "../support/Eventually.ts"
import { bin, idgen, ok, repoRoot } from "../support/IdgenCli.ts"
import { ADMIN_TOKEN, refusedPort, ServerProcess } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("idgen CLI", (it) => {
  it.effect("npx idgen --help lists the commands", () =>
    Effect.gen(function*() {
      const help = ok(yield* idgen(["--help"], {}, ["npx", "idgen"]))
      for (const command of ["serve", "migrate", "cluster", "workspace", "key", "tag", "audit", "gen", "parse", "bench"]) {
        assert.match(help, new RegExp(`^\\s+${command}\\s`, "m"), help)
      }
    }), 120_000)

  it.effect("operator commands, gen and parse against a running server", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const env = { IDGEN_URL: server.baseUrl, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }

      assert.include(ok(yield* idgen(["workspace", "create", "shop"], env)), "created workspace shop")
      // Independent commands run side by side (each is a process start, like a user's shell).
      const [listed, listedJson, keyOut, invoice, event] = yield* Effect.all([
        idgen(["workspace", "list"], env),
        idgen(["workspace", "list", "--json"], env),
        idgen(["key", "create", "shop", "--name", "cli"], env),
        idgen(["tag", "create", "shop/billing/invoice", "--algorithm", "formatted", "--template", "INV{SEQ:6}"], env),
        idgen(["tag", "create", "shop/billing/event", "-a", "snowflake"], env)
      ], { concurrency: 3 })
      assert.match(ok(listed), /^NAME\s+DEFAULT ALGORITHM/m)
      assert.match(ok(listed), /^shop\s+segment\s+true/m)
      assert.deepStrictEqual(JSON.parse(ok(listedJson)).map((w: { name: string }) => w.name), ["shop"])
      const key = ok(keyOut).trim()
      assert.match(key, /^idgen_shop_[0-9a-f]{32}$/)
      assert.include(ok(invoice), "created shop/billing/invoice: formatted")
      assert.include(ok(event), "snowflake")
      assert.include(
        ok(yield* idgen(["tag", "update", "shop/billing/event", "--fallback", "segment"], env)),
        "updated shop/billing/event: snowflake (fallback segment)"
      )
      const withKey = { ...env, IDGEN_API_KEY: key }
      const [tagList, orderIds, invoiceIds, eventIds] = yield* Effect.all([
        idgen(["tag", "list", "shop"], env),
        idgen(["gen", "shop/orders/order-id", "-n", "5"], withKey),
        idgen(["gen", "shop/billing/invoice", "-n", "2"], withKey),
        idgen(["gen", "shop/billing/event", "--api-key", key], env)
      ], { concurrency: 3 })
      const tags = ok(tagList)
      assert.match(tags, /^billing\s+event\s+snowflake\s+segment/m)
      assert.match(tags, /^billing\s+invoice\s+formatted\s+-\s+\d+\s+INV\{SEQ:6\}/m)
      const ids = ok(orderIds).trim().split("\n")
      assert.strictEqual(ids.length, 5)
      assert.isTrue(ids.every((id, i) => /^[1-9][0-9]*$/.test(id) && (i === 0 || BigInt(id) > BigInt(ids[i - 1]!))), ids.join(" "))
      assert.deepStrictEqual(ok(invoiceIds).trim().split("\n"), ["INV000001", "INV000002"])
      const [event0] = ok(eventIds).trim().split("\n")

      const [parsedOut, segmentOut, conflict, noToken, forbidden, badTag, keysOut] = yield* Effect.all([
        idgen(["parse", event0!], withKey),
        idgen(["parse", ids[0]!, "--tag", "shop/orders/order-id", "--json"], withKey),
        // Failures: one line with the IDGEN code, exit 1
        idgen(["workspace", "create", "shop"], env),
        idgen(["workspace", "list"], { IDGEN_URL: server.baseUrl, IDGEN_ADMIN_TOKEN: "" }),
        idgen(["gen", "other/orders/id"], withKey),
        idgen(["gen", "not-a-tag"], withKey),
        idgen(["key", "create", "shop", "--json"], env)
      ], { concurrency: 3 })
      const parsed = ok(parsedOut)
      assert.match(parsed, /^algorithm\s+snowflake$/m)
      assert.match(parsed, /^worker_id\s+0$/m)
      assert.match(parsed, /^timestamp\s+\d{4}-\d{2}-\d{2}T/m)
      assert.deepStrictEqual(JSON.parse(ok(segmentOut)), { id: ids[0], algorithm: "segment", datacenter_id: 0 })
      assert.strictEqual(conflict.code, 1)
      assert.match(conflict.stderr.trim(), /^idgen: IDGEN-COMMON-0008: /)
      assert.strictEqual(noToken.code, 1)
      assert.include(noToken.stderr, "admin token")
      assert.strictEqual(forbidden.code, 1)
      assert.match(forbidden.stderr.trim(), /^idgen: IDGEN-COMMON-0006: /)
      assert.strictEqual(badTag.code, 2, "a bad argument is a usage error")
      assert.include(badTag.stderr, "workspace/group/biz_tag")

      // Revoke: the key stops working
      const keys = JSON.parse(ok(keysOut))
      assert.include(ok(yield* idgen(["key", "revoke", "shop", keys.id], env)), `revoked API key ${keys.id}`)
      const revoked = yield* idgen(["gen", "shop/orders/order-id"], { ...env, IDGEN_API_KEY: keys.key })
      assert.strictEqual(revoked.code, 1)
      assert.match(revoked.stderr.trim(), /^idgen: IDGEN-COMMON-0002: /)
    }), 240_000)

  it.effect("workspace get/update, key list, tag delete and audit against a running server", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const env = { IDGEN_URL: server.baseUrl, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }
      ok(yield* idgen(["workspace", "create", "ops", "--max-auto-biz-tags", "50", "--rate-limit", "100/200"], env))
      const shown = ok(yield* idgen(["workspace", "get", "ops"], env))
      assert.match(shown, /^max_auto_biz_tags\s+50$/m)
      assert.match(shown, /^rate_limit\s+100\/s burst 200$/m)
      const updated = ok(yield* idgen(
        ["workspace", "update", "ops", "--default-fallback", "uuid_v7", "--auto-create", "off", "--rate-limit", "none"],
        env
      ))
      assert.match(updated, /^default_fallback\s+uuid_v7$/m)
      assert.match(updated, /^auto_create_biz_tags\s+false$/m)
      assert.match(updated, /^rate_limit\s+-$/m)
      const asJson = JSON.parse(ok(yield* idgen(["workspace", "get", "ops", "--json"], env)))
      assert.deepStrictEqual(asJson.default_fallback, ["uuid_v7"])
      const nothing = yield* idgen(["workspace", "update", "ops"], env)
      assert.strictEqual(nothing.code, 1)
      assert.include(nothing.stderr, "nothing to change")
      const withFallback = ok(yield* idgen(["workspace", "create", "ops_fb", "--default-fallback", "uuid_v7", "--json"], env))
      assert.deepStrictEqual(JSON.parse(withFallback).default_fallback, ["uuid_v7"])
      // What the server refuses is one line with the IDGEN code and the field, exit 1.
      for (const [args, says] of [
        [["workspace", "create", "ops_fmt", "--default-algorithm", "formatted"], "default_algorithm: must not be formatted"],
        [["tag", "create", "ops/g/big", "-a", "segment", "--step", "1000000000000000"], "step: must be at most 10000000"]
      ] as const) {
        const refused = yield* idgen(args, env)
        assert.strictEqual(refused.code, 1, refused.stderr)
        assert.match(refused.stderr, /^idgen: IDGEN-COMMON-0001: [^\n]*\n$/)
        assert.include(refused.stderr, says)
      }
      // The contract's bounds are the CLI's too: past them is a usage error before any request, exit 2.
      const usage = yield* idgen(["workspace", "update", "ops", "--rate-limit", "2147483648/1"], env)
      assert.strictEqual(usage.code, 2, usage.stderr)
      assert.match(usage.stderr, /^idgen: invalid value "2147483648\/1" for --rate-limit: .*must be at most 2147483647 \(per_second\)[^\n]*\n$/)

      const keys = []
      for (const name of ["first", "second", "third"]) {
        keys.push(JSON.parse(ok(yield* idgen(["key", "create", "ops", "--name", name, "--json"], env))))
      }
      const table = yield* idgen(["key", "list", "ops"], env)
      assert.match(ok(table), /^ID\s+PREFIX\s+NAME\s+CREATED\s+EXPIRES\s+LAST USED\s+REVOKED$/m)
      for (const key of keys) {
        assert.match(ok(table), new RegExp(`^${key.id}\\s+${key.prefix}\\s+`, "m"))
        assert.notInclude(ok(table), key.key)
      }
      assert.strictEqual(table.stderr, "", "one page: no cursor hint")
      const page = yield* idgen(["key", "list", "ops", "--limit", "2", "--json"], env)
      const first = JSON.parse(ok(page))
      assert.deepStrictEqual(first.items.map((k: { id: string }) => k.id), [keys[0].id, keys[1].id])
      const rest = JSON.parse(ok(yield* idgen(["key", "list", "ops", "--limit", "2", "--cursor", first.next_cursor, "--json"], env)))
      assert.deepStrictEqual(rest, { ...rest, items: [rest.items[0]], next_cursor: null })
      assert.strictEqual(rest.items[0].id, keys[2].id)
      const hinted = yield* idgen(["key", "list", "ops", "--limit", "2"], env)
      assert.match(hinted.stderr, /^more: --cursor \S+$/m)

      ok(yield* idgen(["tag", "create", "ops/g/t", "-a", "segment"], env))
      const withKey = { ...env, IDGEN_API_KEY: keys[0].key }
      assert.match(ok(yield* idgen(["gen", "ops/g/t"], withKey)).trim(), /^[1-9][0-9]*$/)
      assert.include(ok(yield* idgen(["tag", "delete", "ops/g/t"], env)), "deleted ops/g/t")
      const gone = yield* idgen(["gen", "ops/g/t"], withKey)
      assert.strictEqual(gone.code, 1)
      assert.match(gone.stderr.trim(), /^idgen: IDGEN-COMMON-0007: /)
      const again = yield* idgen(["tag", "delete", "ops/g/t"], env)
      assert.strictEqual(again.code, 1)
      assert.match(again.stderr.trim(), /^idgen: IDGEN-COMMON-0007: /)

      // The audit trail is written asynchronously: poll until the deletion is in it.
      const deadline = Date.now() + 10_000
      let audit = ""
      while (!/delete_biz_tag/.test(audit) && Date.now() < deadline) {
        audit = ok(yield* idgen(["audit", "--workspace", "ops"], env))
      }
      assert.match(audit, /^TIME\s+TYPE\s+ACTOR\s+ACTION\s+RESOURCE\s+RESULT\s+NODE$/m)
      assert.match(audit.split("\n")[1]!, /\soperator\s+admin:[0-9a-f]{8}\s+delete_biz_tag\s+biz_tag:ops\/g\/t\s+success\s/)
      const deletions = JSON.parse(ok(yield* idgen(["audit", "--workspace", "ops", "--action", "delete_biz_tag", "--json"], env)))
      assert.deepStrictEqual(deletions.items.map((e: { resource: string }) => e.resource), ["biz_tag:ops/g/t"])
      assert.isNull(deletions.next_cursor)
      // A time ago is a time: the last hour has the deletion, an hour ago's minute before it has nothing.
      const lastHour = JSON.parse(ok(yield* idgen(["audit", "--workspace", "ops", "--since", "1h", "--json"], env)))
      assert.include(lastHour.items.map((e: { action: string }) => e.action), "delete_biz_tag")
      const before = JSON.parse(ok(yield* idgen(["audit", "--workspace", "ops", "--until", "1h", "--json"], env)))
      assert.deepStrictEqual(before.items, [])
      // What only the server can judge is its 400, one line with the code and message, exit 1.
      ok(yield* idgen(["tag", "create", "ops/g/s", "-a", "segment"], env))
      const refused = yield* idgen(["tag", "update", "ops/g/s", "--fallback", "segment,uuid_v7"], env)
      assert.strictEqual(refused.code, 1, refused.stderr)
      assert.strictEqual(refused.stdout, "")
      assert.match(refused.stderr, /^idgen: IDGEN-COMMON-0001: Invalid request body: fallback: must not contain the primary algorithm segment\n$/)
    }), 180_000)

  it.effect("bench drives HTTP, gRPC and RPC and prints IDs/s and latency percentiles", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const env = { IDGEN_URL: server.baseUrl, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }
      ok(yield* idgen(["workspace", "create", "bench"], env))
      const key = ok(yield* idgen(["key", "create", "bench"], env)).trim()
      // A call counts when it begins and ends inside the measured second; the warm-up takes each
      // interface's first connection (a fresh gRPC channel, a WebSocket) on a loaded machine.
      const args = ["bench", "--grpc", `127.0.0.1:${server.grpcPort}`, "--duration", "1", "--warmup", "1", "-c", "4"]
      const run = ok(yield* idgen(args, { ...env, IDGEN_API_KEY: key }))
      assert.match(run, /^INTERFACE\s+CALLS\s+IDS\/S\s+CALLS\/S\s+P50 MS\s+P90 MS\s+P99 MS\s+MAX MS\s+ERRORS$/m)
      for (const name of ["http", "grpc", "rpc"]) {
        const row = new RegExp(`^${name}\\s+(\\d+)\\s+([\\d.]+ [kM]?)\\s*\\S*\\s+[\\d.]+ ?[kM]?\\s+([\\d.]+)\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+0$`, "m")
        const match = row.exec(run)
        assert.isNotNull(match, `no clean ${name} row in:\n${run}`)
        assert.isAbove(Number(match![1]), 0)
      }
      const json = JSON.parse(ok(yield* idgen([...args, "--json", "-i", "grpc"], { ...env, IDGEN_API_KEY: key })))
      assert.strictEqual(json.results.length, 1)
      assert.strictEqual(json.results[0].interface, "grpc")
      assert.strictEqual(json.results[0].errors, 0)
      assert.isAbove(json.results[0].idsPerSecond, 0)
      assert.isAtLeast(json.results[0].p99, json.results[0].p50)

      // The gRPC address from IDGEN_GRPC; one that answers no call fails the run, saying why.
      const short = ["bench", "--duration", "1", "--warmup", "1", "-c", "2", "-i", "grpc"]
      const viaEnv = yield* idgen(short, { ...env, IDGEN_API_KEY: key, IDGEN_GRPC: `127.0.0.1:${server.grpcPort}` })
      assert.match(ok(viaEnv), /^grpc\s+[1-9]\d*\s/m)
      const closed = yield* refusedPort
      const failed = yield* idgen([...short, "--grpc", `127.0.0.1:${closed}`], { ...env, IDGEN_API_KEY: key })
      assert.strictEqual(failed.code, 1, failed.stdout + failed.stderr)
      assert.match(failed.stdout, /^grpc\s+0\s/m, "the table still shows the run")
      assert.match(
        failed.stderr.trim().split("\n").at(-1)!,
        new RegExp(`^idgen: no successful call over grpc \\(\\d+ errors\\): gRPC UNAVAILABLE: .*\\(gRPC at 127\\.0\\.0\\.1:${closed}: --grpc or IDGEN_GRPC\\)$`)
      )
    }), 180_000)

  it.effect("migrate applies the migrations once; serve launches as npm start (warnings, worker processes) until SIGTERM", () =>
    Effect.gen(function*() {
      const databaseUrl = yield* TestDatabase.make
      const migrateEnv = { IDGEN_DATABASE_URL: databaseUrl, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN }
      const first = ok(yield* idgen(["migrate"], migrateEnv))
      assert.match(first, /^applied 1_tenancy, 2_segments/m)
      assert.include(ok(yield* idgen(["migrate"], migrateEnv)), "database is up to date")

      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-cli-serve-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const portFile = join(dataDir, "ports.json")
      const child = spawn(process.execPath, [bin, "serve", "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--data-dir", dataDir], {
        cwd: repoRoot,
        // As npm start would: a misspelled variable warned of, two worker processes on PostgreSQL.
        env: {
          ...process.env,
          IDGEN_DATABASE_URL: databaseUrl,
          IDGEN_ADMIN_TOKEN: ADMIN_TOKEN,
          IDGEN_PORT_FILE: portFile,
          IDGEN_WORKERS: "2",
          IDGEN_HTTP_PROT: "9090"
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
      const exited = new Promise<number | string | null>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal)))
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      let ready = false
      let httpPort: number | undefined
      for (let i = 0; i < 600 && !ready && child.exitCode === null; i++) {
        httpPort ??= PortFile.read(portFile)?.http
        ready = httpPort !== undefined && (yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${httpPort}/ready`).then((r) => r.status === 200, () => false)
        ))
        if (!ready) yield* Effect.sleep("100 millis") // polling the server's own readiness probe
      }
      assert.isTrue(ready, `serve did not become ready:\n${output}`)
      const workspaces = ok(yield* idgen(["workspace", "list", "--json"], {
        IDGEN_URL: `http://127.0.0.1:${httpPort}`,
        IDGEN_ADMIN_TOKEN: ADMIN_TOKEN
      }))
      assert.deepStrictEqual(JSON.parse(workspaces), [])
      assert.match(output, /environment variable IDGEN_HTTP_PROT is not read by idgen .*did you mean IDGEN_HTTP_PORT/)
      yield* eventually("both workers started", 30_000, Effect.sync(() => /worker 0 started/.test(output) && /worker 1 started/.test(output)))
      child.kill("SIGTERM")
      const code = yield* Effect.promise(() => exited)
      // A primary whose workers all drained exits 0.
      assert.strictEqual(code, 0, output)
    }), 180_000)
})
