/**
 * The client as a package others install: `npm run build`, `npm pack` of @idgen/core,
 * @idgen/protocol and @idgen/client, the tarballs installed with `effect` into a scratch
 * project outside the repository, and programs there (test/client/packaging/, copied in)
 * type-checked against the shipped .d.ts and run with this project's Node against a live
 * server: the Promise client and the Effect client, the operator API's clients in both forms,
 * typed errors with their codes, and what importing the client loads.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { copyFileSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { ADMIN_TOKEN, ServerProcess, workspaceWithKey } from "../support/ServerProcess.ts"
import { tempDir } from "../support/TempDir.ts"

const repoRoot = resolve(import.meta.dirname, "../..")
const fixtures = join(import.meta.dirname, "packaging")
const packages = ["core", "protocol", "client"]

const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")).version

/**
 * The environment of someone else's project: none of npm's per-script variables of this
 * repository (its prefix, its `node-options` with the source condition).
 */
const outsideEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name !== "NODE_OPTIONS" && name !== "INIT_CWD" && !name.startsWith("npm_"))
)

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (file: string, args: ReadonlyArray<string>, cwd: string, timeoutMillis = 120_000) =>
  Effect.callback<Run>((resume) => {
    const child = execFile(file, [...args], { cwd, env: outsideEnv, timeout: timeoutMillis, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resume(Effect.succeed({ code: error === null ? 0 : child.exitCode, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const ok = (what: string, result: Run): string => {
  assert.strictEqual(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

layer(ServerProcess.layer(), { timeout: "300 seconds", excludeTestServices: true })("packaging", (it) => {
  it.effect("packed tarballs installed outside the repository: types check, the ID and operator clients work against a server, the barrel loads no gRPC", () =>
    Effect.gen(function*() {
      ok("build", yield* run(process.execPath, [join(repoRoot, "scripts/build-packages.ts")], repoRoot))

      const tarballs = yield* tempDir("idgen-pack-")
      const packed: Array<{ filename: string; files: Array<{ path: string }> }> = JSON.parse(ok(
        "npm pack",
        yield* run("npm", ["pack", "--json", "--pack-destination", tarballs, ...packages.flatMap((p) => ["-w", `@idgen/${p}`])], repoRoot)
      ))
      for (const tarball of packed) {
        const files = tarball.files.map((f) => f.path)
        for (const file of ["LICENSE", "package.json", "dist/index.js", "dist/index.d.ts", "dist/index.js.map"]) {
          assert.include(files, file, tarball.filename)
        }
      }

      const project = yield* tempDir("idgen-consumer-")
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      for (const file of ["consumer.ts", "loaded-modules.ts", "tsconfig.json"]) copyFileSync(join(fixtures, file), join(project, file))
      ok("npm install", yield* run("npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        ...packed.map((t) => join(tarballs, t.filename)),
        `effect@${versionOf("effect")}`,
        `@types/node@${versionOf("@types/node")}`
      ], project))

      // The programs type-check against the installed packages' declarations
      ok("tsc", yield* run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", project], project))

      // Importing the client loads the built JavaScript only, and neither gRPC nor Node modules
      const modules = JSON.parse(ok("loaded-modules.ts", yield* run(process.execPath, ["loaded-modules.ts"], project)))
      const idgenModules = (modules.loaded as Array<string>).filter((url) => url.includes("/node_modules/@idgen/"))
      assert.isNotEmpty(idgenModules)
      for (const url of idgenModules) assert.match(url, /\/node_modules\/@idgen\/(core|protocol|client)\/dist\/.*\.js$/)
      for (const url of modules.loaded as Array<string>) {
        assert.notInclude(url, "/@grpc/")
        assert.isFalse(url.startsWith("node:"), url)
      }
      assert.includeMembers(modules.client, [
        "IdgenClient",
        "IdgenPromiseClient",
        "AllServersUnavailable",
        "IdgenAdminClient",
        "IdgenAdminPromiseClient",
        "AdminRequestFailed"
      ])
      assert.includeMembers(modules.grpcService, ["batchGenerate", "generate", "healthCheck", "parse"])

      // Both clients against the live server; the process ends by itself (`await using`)
      const server = yield* ServerProcess
      const apiKey = yield* workspaceWithKey(server, { name: "packed" })
      yield* workspaceWithKey(server, { name: "packed-other" })
      const consumer = yield* run(
        process.execPath,
        ["consumer.ts", server.baseUrl, apiKey, "packed", "packed-other", ADMIN_TOKEN],
        project,
        30_000
      )
      const result = JSON.parse(ok("consumer.ts (must end on its own within 30 s)", consumer))
      const ids: Array<string> = [...result.promise.ids, ...result.effect.ids]
      assert.strictEqual(ids.length, 5)
      assert.isTrue(ids.every((id, i) => /^\d+$/.test(id) && (i === 0 || BigInt(id) > BigInt(ids[i - 1]!))), ids.join(" "))
      assert.deepStrictEqual(result.promise.error, { tag: "Forbidden", code: "IDGEN-COMMON-0006" })
      assert.deepStrictEqual(result.effect.error, { tag: "InvalidRequest", code: "IDGEN-COMMON-0001" })
      // The operator clients: a workspace and a key made through the Promise one, listed through the Effect one
      assert.strictEqual(result.adminPromise.workspace, "packed-admin")
      assert.deepStrictEqual(result.adminPromise.error, { tag: "Conflict", code: "IDGEN-COMMON-0008" })
      assert.deepStrictEqual(result.adminEffect.keys, [result.adminPromise.key])
      assert.includeMembers(result.adminEffect.workspaces, ["packed", "packed-other", "packed-admin"])
    }))
})
