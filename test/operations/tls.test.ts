/**
 * TLS on the HTTP and gRPC ports of a real server process, with certificates made by
 * `openssl` in the test: HTTPS serves the API, a plain-HTTP connection is refused, gRPC
 * speaks TLS from the same files and refuses plaintext clients, a replaced
 * certificate is picked up without a restart, and a broken replacement is refused while
 * the previous certificate keeps serving.
 */
import { assert, layer } from "@effect/vitest"
import * as Grpc from "@grpc/grpc-js"
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect } from "node:tls"
import * as GrpcClient from "../support/GrpcClient.ts"
import { make as startServer, wait, workspaceWithKey } from "../support/ServerProcess.ts"
import { eventually } from "../support/Eventually.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

/** A self-signed certificate for 127.0.0.1 (P-256, one day). */
const makeCertificate = (dir: string, name: string) => {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${name}`,
    "-addext", "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") }
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256

/** The fingerprint of the certificate the server presents to a new connection. */
const served = (port: number) =>
  Effect.callback<string>((resume) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256
      socket.end()
      resume(Effect.succeed(fp))
    })
    socket.on("error", (error) => resume(Effect.die(error)))
  })

layer(Layer.empty, { timeout: "180 seconds", excludeTestServices: true })("TLS", (it) => {
  it.effect("HTTPS only, plain HTTP refused, certificates reloaded on change", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-tls-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const first = makeCertificate(dir, "idgen-first")
      const certFile = join(dir, "server.crt")
      const keyFile = join(dir, "server.key")
      writeFileSync(certFile, first.cert)
      writeFileSync(keyFile, first.key)
      const second = makeCertificate(dir, "idgen-second")
      // Clients trust both, as during a planned rotation.
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { IDGEN_TLS_CERT_FILE: certFile, IDGEN_TLS_KEY_FILE: keyFile, IDGEN_CONFIG_POLL_INTERVAL_MS: "100" },
        https: { ca: first.cert + second.cert }
      })
      assert.match(server.baseUrl, /^https:/)

      const health = yield* server.request("GET", "/health")
      assert.strictEqual(health.status, 200, health.text)
      const apiKey = yield* workspaceWithKey(server, { name: "tls" })
      const id = yield* server.request("POST", "/api/v1/generate", { apiKey, json: { workspace: "tls", group: "g", biz_tag: "t" } })
      assert.strictEqual(id.status, 200, id.text)
      assert.strictEqual(yield* served(server.port), fingerprint(first.cert))

      // Plain HTTP on the TLS port: no answer, the connection is dropped.
      const plain = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/live`).then((r) => `status ${r.status}`, (error) => `refused: ${error}`)
      )
      assert.match(plain, /^refused/)

      // Rotation: the new pair is served to new connections, no restart.
      writeFileSync(certFile, second.cert)
      writeFileSync(keyFile, second.key)
      const deadline = Date.now() + 20_000
      while ((yield* served(server.port)) !== fingerprint(second.cert)) {
        if (Date.now() > deadline) return assert.fail("the rotated certificate was not served within 20 s")
        yield* wait(50)
      }
      const after = yield* server.request("GET", "/live")
      assert.strictEqual(after.status, 200)
      const metrics = (yield* server.request("GET", "/metrics")).text
      assert.match(metrics, /idgen_tls_reloads_total\{outcome="success"\} [1-9]/)
      assert.match(metrics, /idgen_tls_certificate_expiry_timestamp_seconds \d/)

      // A broken replacement is refused; the previous certificate keeps serving.
      writeFileSync(certFile, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
      const failed = Date.now() + 20_000
      while (!/idgen_tls_reloads_total\{outcome="failure"\} [1-9]/.test((yield* server.request("GET", "/metrics")).text)) {
        if (Date.now() > failed) return assert.fail("the broken certificate was not reported within 20 s")
        yield* wait(50)
      }
      assert.strictEqual(yield* served(server.port), fingerprint(second.cert))
      assert.strictEqual((yield* server.request("GET", "/ready")).status, 200)
      assert.match(server.output(), /TLS reload refused/)
    }).pipe(Effect.scoped))

  it.effect("gRPC over TLS from the same files; plaintext gRPC is refused", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-tls-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const pair = makeCertificate(dir, "idgen-grpc")
      const certFile = join(dir, "server.crt")
      const keyFile = join(dir, "server.key")
      writeFileSync(certFile, pair.cert)
      writeFileSync(keyFile, pair.key)
      const server = yield* startServer(yield* TestDatabase.make, {
        env: { IDGEN_TLS_CERT_FILE: certFile, IDGEN_TLS_KEY_FILE: keyFile },
        https: { ca: pair.cert }
      })
      const Health = GrpcClient.healthPackage().Health
      const check = (credentials: Grpc.ChannelCredentials) =>
        Effect.callback<{ status?: string; code?: number }>((resume) => {
          const client = new Health(`127.0.0.1:${server.grpcPort}`, credentials)
          client.Check({ service: "" }, { deadline: Date.now() + 10_000 }, (error: Grpc.ServiceError | null, reply: any) => {
            client.close()
            resume(Effect.succeed(error === null ? { status: reply.status } : { code: error.code }))
          })
        })
      // Health follows readiness (checked once a second): SERVING soon after /ready answered 200;
      // each check opens a new channel with its TLS handshake, seconds on a loaded machine.
      yield* eventually("SERVING over TLS", 15_000,
        Effect.map(check(Grpc.credentials.createSsl(Buffer.from(pair.cert))), (r) => r.status === "SERVING" || undefined))
      const plaintext = yield* check(Grpc.credentials.createInsecure())
      assert.strictEqual(plaintext.code, Grpc.status.UNAVAILABLE)
    }).pipe(Effect.scoped))

  it.effect("a certificate that does not load stops the start with a clear message", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-tls-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const failure = yield* Effect.flip(startServer(yield* TestDatabase.make, {
        env: { IDGEN_TLS_CERT_FILE: join(dir, "missing.crt"), IDGEN_TLS_KEY_FILE: join(dir, "missing.key") },
        readyTimeoutMillis: 20_000
      }))
      assert.match(failure.output, /tls: cannot load .*missing\.crt/)
    }).pipe(Effect.scoped))
})
