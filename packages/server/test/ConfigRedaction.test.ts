import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { load } from "../src/config/ConfigLoader.ts"
import { redact } from "../src/http/OperationsHttp.ts"

const secrets = ["admin-token-0123456789abcdef", "pw-4711", "Bearer otlp-secret", "metrics-token-0123456789"]

describe("the operator API's configuration view", () => {
  it.effect("the effective configuration shows no secret the settings declare", () =>
    Effect.gen(function*() {
      const config = yield* load({
        IDGEN_ADMIN_TOKEN: secrets[0]!,
        IDGEN_DATABASE_URL: `postgres://idgen:${secrets[1]}@db/idgen`,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=${encodeURIComponent(secrets[2]!)}`,
        IDGEN_METRICS_BEARER_TOKEN: secrets[3]!
      })
      const shown = redact(config) as any
      assert.strictEqual(shown.admin.token, "<redacted>")
      assert.strictEqual(shown.database.url, "<redacted>")
      assert.deepStrictEqual(shown.tracing.otlpHeaders, { authorization: "<redacted>" })
      assert.strictEqual(shown.metrics.bearerToken, "<redacted>")
      for (const secret of secrets) assert.notInclude(JSON.stringify(shown), secret)
    }))

  it("runtime changes (file form) show no secret either", () => {
    const shown = redact({
      admin: { token: secrets[0] },
      tracing: { otlp_headers: { authorization: secrets[2] }, sample_ratio: 0.5 }
    }) as any
    assert.deepStrictEqual(shown, {
      admin: { token: "<redacted>" },
      tracing: { otlp_headers: { authorization: "<redacted>" }, sample_ratio: 0.5 }
    })
  })
})
