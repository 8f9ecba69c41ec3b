/**
 * The `idgen` command line by clig.dev, run as separate processes: a command line it cannot
 * understand is one line on stderr with exit 2 (help only when asked for); a server it cannot
 * reach is reported fast, naming the URL and the cause; `host:port` is a server address.
 */
import { assert, layer } from "@effect/vitest"
import { entries } from "@idgen/server/config/ServerConfig"
import { Duration, Effect } from "effect"
import { idgen, ok } from "../support/IdgenCli.ts"
import { ADMIN_TOKEN, refusedPort, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"

/** Asserts a usage error: exit 2, nothing on stdout, one stderr line; yields that line. */
const usageError = (run: { readonly code: number | null; readonly stdout: string; readonly stderr: string }) => {
  assert.strictEqual(run.code, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  assert.strictEqual(run.stdout, "")
  const lines = run.stderr.trimEnd().split("\n")
  assert.strictEqual(lines.length, 1, run.stderr)
  return lines[0]!
}

layer(ServerProcess.layer(), { timeout: "180 seconds", excludeTestServices: true })("idgen command line", (it) => {
  it.effect("usage errors: one stderr line naming the problem, did-you-mean for near misses, exit 2", () =>
    Effect.gen(function*() {
      const [algorithm, nearAlgorithm, count, bogus, command, subcommand, flag, missing] = yield* Effect.all([
        idgen(["tag", "create", "a/b/c", "--algorithm", "foo"]),
        idgen(["tag", "create", "a/b/c", "--algorithm", "snowflak"]),
        idgen(["gen", "a/b/c", "-n", "abc"]),
        idgen(["--bogus"]),
        idgen(["worksapce", "list"]),
        idgen(["tag", "craete", "a/b/c"]),
        idgen(["gen", "a/b/c", "--cuont", "3"]),
        idgen(["gen"])
      ], { concurrency: 4 })
      assert.match(usageError(algorithm), /^idgen: invalid value "foo" for --algorithm: expected one of segment, snowflake, uuid_v7, uuid_v4, formatted \(see 'idgen tag create --help'\)$/)
      assert.include(usageError(nearAlgorithm), `did you mean "snowflake"?`)
      assert.match(usageError(count), /^idgen: invalid value "abc" for --count: expected .*number/)
      assert.match(usageError(bogus), /^idgen: unknown flag --bogus for "idgen" \(see 'idgen --help'\)$/)
      assert.strictEqual(usageError(command), `idgen: unknown command "worksapce" for "idgen"; did you mean "workspace"? (see 'idgen --help')`)
      assert.include(usageError(subcommand), `unknown command "craete" for "idgen tag"; did you mean "create"?`)
      assert.include(usageError(flag), `unknown flag --cuont for "idgen gen"; did you mean "--count"?`)
      assert.include(usageError(missing), "missing required argument: tag")
      const badEnv = yield* idgen(["workspace", "list"], { IDGEN_CONNECT_TIMEOUT_MS: "soon" })
      assert.include(usageError(badEnv), "invalid IDGEN_CONNECT_TIMEOUT_MS in the environment")
    }), 120_000)

  it.effect("bad flag and argument values are usage errors too, found before any request: algorithms, ranges, times, actions, names", () =>
    Effect.gen(function*() {
      // No server and no credentials: a value is judged as the command line is read.
      const runs = yield* Effect.all([
        idgen(["workspace", "update", "acme", "--default-fallback", "segment,snowflak"]),
        idgen(["tag", "update", "acme/g/t", "--fallback", "bogus"]),
        idgen(["workspace", "update", "acme", "--rate-limit", "off"]),
        idgen(["workspace", "create", "acme", "--rate-limit", "0/5"]),
        idgen(["workspace", "create", "acme", "--max-auto-biz-tags", "-1"]),
        idgen(["workspace", "get", "Acme"]),
        idgen(["audit", "--since", "yesterday"]),
        idgen(["audit", "--action", "workspace.create"]),
        idgen(["audit", "--limit", "0"]),
        idgen(["gen", "acme/g/t", "-n", "0"]),
        idgen(["gen", "not-a-tag"]),
        idgen(["key", "create", "acme", "--expires-at", "2027-13-01"]),
        idgen(["bench", "--size", "20000"]),
        idgen(["bench", "-i", "http,grcp"]),
        idgen(["cluster", "pin", "--epoch", "soon"]),
        idgen(["cluster", "pin", "--range-size", "0"])
      ], { concurrency: 4 })
      const [fallback, tagFallback, rateWord, rateZero, maxAuto, name, since, action, limit, count, path, expiry, size, interfaces, epoch, range] =
        runs.map(usageError)
      assert.strictEqual(
        fallback,
        `idgen: invalid value "segment,snowflak" for --default-fallback: expected comma-separated algorithms of segment, snowflake, ` +
          `uuid_v7, uuid_v4, formatted ("snowflak" is none of them; did you mean "snowflake"?) (see 'idgen workspace update --help')`
      )
      assert.include(tagFallback, `for --fallback: expected comma-separated algorithms of segment,`)
      assert.include(rateWord, `invalid value "off" for --rate-limit: expected PER_SECOND/BURST (e.g. 1000/2000) or none`)
      assert.include(rateZero, `invalid value "0/5" for --rate-limit: expected PER_SECOND/BURST (e.g. 1000/2000) or none: must be at least 1 (per_second)`)
      assert.include(maxAuto, `invalid value "-1" for --max-auto-biz-tags: expected a value between 0 and 1000000`)
      assert.include(name, `invalid value "Acme" for <name>: expected a name matching ^[a-z0-9][a-z0-9_-]{0,63}$`)
      assert.include(since, `invalid value "yesterday" for --since: expected an RFC 3339 time`)
      assert.include(since, "or a time ago such as 30m, 1h, 7d")
      assert.match(action, /invalid value "workspace\.create" for --action: expected one of create_workspace, update_workspace, .*delete_biz_tag/)
      assert.include(limit, `invalid value "0" for --limit: expected an integer from 1 to 1000`)
      assert.include(count, `invalid value "0" for --count: expected an integer of at least 1`)
      assert.include(path, `invalid value "not-a-tag" for <tag>: expected workspace/group/biz_tag`)
      assert.include(expiry, `invalid value "2027-13-01" for --expires-at: expected an RFC 3339 time`)
      assert.include(size, `invalid value "20000" for --size: expected a value between 1 and 10000`)
      assert.include(interfaces, `("grcp" is none of them; did you mean "grpc"?)`)
      assert.include(epoch, `invalid value "soon" for --epoch: expected an ISO 8601 date or Unix ms`)
      assert.include(range, `invalid value "0" for --range-size: expected an integer from 1 to 1125899906842623`)
    }), 120_000)

  it.effect("help only when asked: --help on stdout with exit 0; a command without its subcommand shows it on stderr, exit 2", () =>
    Effect.gen(function*() {
      const [asked, tagAsked, bare] = yield* Effect.all([idgen(["--help"]), idgen(["tag", "create", "--help"]), idgen(["tag"])], {
        concurrency: 3
      })
      assert.match(ok(asked), /^USAGE\n\s+idgen <subcommand>/m)
      assert.strictEqual(asked.stderr, "")
      assert.match(ok(tagAsked), /--algorithm, -a/)
      assert.strictEqual(bare.code, 2)
      assert.strictEqual(bare.stdout, "")
      assert.match(bare.stderr, /^SUBCOMMANDS$/m)
    }), 120_000)

  it.effect("every command's help shows an example, and flag defaults", () =>
    Effect.gen(function*() {
      const commands = [
        ["serve"], ["migrate"], ["cluster", "settings"], ["cluster", "pin"],
        ["workspace", "create"], ["workspace", "list"], ["workspace", "get"], ["workspace", "update"],
        ["key", "create"], ["key", "list"], ["key", "revoke"],
        ["tag", "create"], ["tag", "list"], ["tag", "update"], ["tag", "delete"],
        ["audit"], ["gen"], ["parse"], ["bench"]
      ]
      const helps = yield* Effect.all(commands.map((command) => idgen([...command, "--help"])), { concurrency: 4 })
      helps.forEach((help, i) => assert.match(ok(help), new RegExp(`^EXAMPLES\\n(.*\\n)*\\s+idgen ${commands[i]!.join(" ")}\\b`, "m"), ok(help)))
      const gen = ok(helps[commands.findIndex((c) => c[0] === "gen")]!)
      assert.match(gen, /--count, -n integer\s+How many IDs \(default 1\)/)
      assert.match(gen, /--connect-timeout-ms integer\s+.*default 2000/)
      assert.match(ok(helps[commands.length - 1]!), /--size integer\s+.*\(default 1000\)/)
      assert.match(ok(helps[commands.length - 1]!), /--grpc string\s+gRPC host:port \(env IDGEN_GRPC; default: the server's host, port 50051/)
      // An update changes what it is given: its flags have no default.
      const update = ok(helps[commands.findIndex((c) => c.join(" ") === "workspace update")]!)
      const ownFlags = update.slice(update.indexOf("\nFLAGS\n"), update.indexOf("\nINHERITED FLAGS\n"))
      assert.match(ownFlags, /--max-auto-biz-tags/)
      assert.notMatch(ownFlags, /\(default /, ownFlags)
      // serve's flags name the variable and default their settings declare.
      const serve = ok(helps[0]!)
      const flags = [["http-port", "http.port"], ["grpc-port", "grpc.port"], ["host", "http.host"], ["data-dir", "database.data_dir"]]
      for (const [flag, key] of flags) {
        const { setting, variable } = entries.find((e) => e.file.join(".") === key)!
        const line = serve.split("\n").find((l) => l.trimStart().startsWith(`--${flag} `))
        assert.include(line, `(${variable}, default ${setting._tag === "WithDefault" ? String(setting.default) : "-"})`, serve)
      }
    }), 120_000)

  it.effect("an unreachable server fails within seconds with one stderr line naming the URL and the cause, exit 1", () =>
    Effect.gen(function*() {
      const closed = yield* refusedPort
      const url = `http://127.0.0.1:${closed}`
      const key = "idgen_shop_0123456789abcdef0123456789abcdef"
      // `idgen --help` started alongside: what starting the CLI costs on this machine right now.
      const [[baseline, help], ...runs] = yield* Effect.all([
        Effect.timed(idgen(["--help"])),
        Effect.timed(idgen(["gen", "shop/orders/id"], { IDGEN_URL: url, IDGEN_API_KEY: key })),
        Effect.timed(idgen(["workspace", "list"], { IDGEN_URL: `127.0.0.1:${closed}`, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN })),
        Effect.timed(idgen(["parse", "1", "-s", `127.0.0.1:${closed}`, "-k", key]))
      ], { concurrency: 4 })
      ok(help)
      for (const [elapsed, run] of runs) {
        assert.strictEqual(run.code, 1, run.stderr)
        assert.strictEqual(run.stdout, "")
        assert.strictEqual(run.stderr, `idgen: cannot reach the server at ${url} (ECONNREFUSED)\n`)
        // The old CLI took 10-14 s here (the client's retries); the bound is the behaviour, not a
        // benchmark: at most 3 s past a start that does nothing, under the same load.
        assert.isBelow(Duration.toMillis(elapsed), Duration.toMillis(baseline) + 3_000, `help took ${Duration.format(baseline)}`)
      }
    }), 120_000)

  it.effect("host:port means http://host:port, for the operator commands and the ID client", () =>
    Effect.gen(function*() {
      const server = yield* ServerProcess
      const key = yield* workspaceWithKey(server, { name: "hostport" })
      const env = { IDGEN_URL: `127.0.0.1:${server.port}`, IDGEN_ADMIN_TOKEN: ADMIN_TOKEN, IDGEN_API_KEY: key }
      const [listed, generated] = yield* Effect.all([
        idgen(["workspace", "list", "--json"], env),
        idgen(["gen", "hostport/orders/id", "-n", "3"], env)
      ], { concurrency: 2 })
      assert.include(JSON.parse(ok(listed)).map((w: { name: string }) => w.name), "hostport")
      assert.strictEqual(ok(generated).trim().split("\n").length, 3)
    }), 120_000)
})
