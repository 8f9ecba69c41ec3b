/**
 * The admin token shipped as a placeholder in deploy/kubernetes's Secret is refused at
 * start, as is a too-short one: the real server process exits 78 naming the setting. The
 * placeholder is read from the Secret itself so the two cannot drift apart.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parseAllDocuments } from "yaml"
import { make as startServer } from "../support/ServerProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const secretPath = join(resolve(import.meta.dirname, "../.."), "deploy/kubernetes/secret.yaml")
const placeholder: string = parseAllDocuments(readFileSync(secretPath, "utf8"))
  .map((doc) => doc.toJS())
  .find((doc) => doc?.kind === "Secret").stringData.IDGEN_ADMIN_TOKEN

/** Starts a node with this admin token, expecting exit 78; yields its output. */
const refusedWithToken = (token: string) =>
  Effect.gen(function*() {
    const url = yield* TestDatabase.make
    const error = yield* Effect.flip(startServer(url, { env: { IDGEN_ADMIN_TOKEN: token } }))
    assert.include(error.message, "server exited (78)", error.output)
    return error.output
  })

layer(Layer.empty, { timeout: "120 seconds", excludeTestServices: true })("admin token placeholders", (it) => {
  it.effect("the Secret's placeholder token makes the server exit 78 naming admin.token (IDGEN_ADMIN_TOKEN)", () =>
    Effect.gen(function*() {
      assert.isAtLeast(placeholder.length, 16, "long enough that only the placeholder check refuses it")
      const output = yield* refusedWithToken(placeholder)
      assert.include(output, "admin.token (IDGEN_ADMIN_TOKEN): a placeholder from an example configuration")
      assert.notInclude(output, placeholder, "the refused secret is not echoed")
    }))

  it.effect("a token under 16 characters makes the server exit 78 naming admin.token (IDGEN_ADMIN_TOKEN)", () =>
    Effect.gen(function*() {
      const output = yield* refusedWithToken("short-token")
      assert.include(output, "admin.token (IDGEN_ADMIN_TOKEN): 11 characters, at least 16 required")
    }))
})
