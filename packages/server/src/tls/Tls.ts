/**
 * TLS from `tls.cert_file` / `tls.key_file` (and `tls.ca_file` for client certificates).
 * With both set, the HTTP port speaks HTTPS only: a plain-HTTP client fails the handshake
 * and is disconnected. The files are polled (`reload.poll_interval_ms`) and a changed pair
 * is swapped into the running server for new connections (`setSecureContext`); a pair
 * that does not load is refused, logged, counted (`idgen_tls_reloads_total{outcome="failure"}`),
 * and the previous one keeps serving.
 *
 * For gRPC, `grpcServerCredentials` gives the same files (and the same reloading, through
 * grpc-js' file-watching certificate provider) as `ServerCredentials`.
 */
import * as Grpc from "@grpc/grpc-js"
import { Effect, Metric, type Scope } from "effect"
import { createHash, X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import { createSecureContext, type SecureContextOptions } from "node:tls"
import { ConfigInvalid } from "../config/ConfigInvalid.ts"
import { LiveConfig } from "../config/HotReload.ts"
import type { ServerConfigShape } from "../config/ServerConfig.ts"
import * as TlsMetrics from "./TlsMetrics.ts"

type TlsConfig = ServerConfigShape["tls"]

export interface TlsOptions extends SecureContextOptions {
  readonly requestCert: boolean
  readonly rejectUnauthorized: boolean
}

/** Whether `tls` turns TLS on. */
export const enabled = (tls: TlsConfig): tls is TlsConfig & { certFile: string; keyFile: string } =>
  tls.certFile !== undefined && tls.keyFile !== undefined

/**
 * Reads and checks the files now: the key must match the certificate (Node's secure
 * context refuses a mismatched pair), so a half-replaced pair is never served.
 */
export const readOptions = (tls: TlsConfig & { certFile: string; keyFile: string }): Effect.Effect<TlsOptions, ConfigInvalid> =>
  Effect.try({
    try: () => {
      const options: TlsOptions = {
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
        ...(tls.caFile === undefined ? {} : { ca: readFileSync(tls.caFile) }),
        minVersion: tls.minVersion,
        requestCert: tls.caFile !== undefined,
        rejectUnauthorized: tls.caFile !== undefined
      }
      createSecureContext(options)
      return options
    },
    catch: (cause) =>
      new ConfigInvalid({
        message: `tls: cannot load ${tls.certFile} / ${tls.keyFile}${tls.caFile ? ` / ${tls.caFile}` : ""}: ` +
          (cause instanceof Error ? cause.message : String(cause))
      })
  })

const expiryOf = (cert: SecureContextOptions["cert"]): number | undefined => {
  try {
    const pem = Array.isArray(cert) ? cert[0] : cert
    return pem === undefined ? undefined : Date.parse(new X509Certificate(pem as Buffer).validTo) / 1000
  } catch {
    return undefined
  }
}

const filesHash = (tls: TlsConfig & { certFile: string; keyFile: string }) => {
  const hash = createHash("sha256")
  for (const path of [tls.certFile, tls.keyFile, tls.caFile]) {
    if (path === undefined) continue
    try {
      hash.update(readFileSync(path))
    } catch (error) {
      hash.update(`unreadable ${path}: ${String(error)}`)
    }
  }
  return hash.digest("hex")
}

/**
 * The options to start with, and a fiber (for the scope's lifetime) that applies changed
 * files with `apply`. `pollMillis` is read before each poll, so it can change live.
 */
export const load = (
  tls: TlsConfig & { certFile: string; keyFile: string },
  pollMillis: () => number,
  apply: (options: TlsOptions) => void
): Effect.Effect<TlsOptions, ConfigInvalid, Scope.Scope> =>
  Effect.gen(function*() {
    const initial = yield* readOptions(tls)
    const expiry = expiryOf(initial.cert)
    if (expiry !== undefined) yield* Metric.update(TlsMetrics.tlsCertificateExpiry, expiry)
    for (const outcome of ["success", "failure"] as const) yield* Metric.value(TlsMetrics.tlsReloads(outcome))
    let seen = filesHash(tls)
    const poll = Effect.gen(function*() {
      const hash = filesHash(tls)
      if (hash === seen) return
      seen = hash
      const next = yield* Effect.result(readOptions(tls))
      if (next._tag === "Failure") {
        yield* Metric.update(TlsMetrics.tlsReloads("failure"), 1)
        return yield* Effect.logError(`TLS reload refused, still serving the previous certificate: ${next.failure.message}`)
      }
      apply(next.success)
      const expires = expiryOf(next.success.cert)
      if (expires !== undefined) yield* Metric.update(TlsMetrics.tlsCertificateExpiry, expires)
      yield* Metric.update(TlsMetrics.tlsReloads("success"), 1)
      yield* Effect.logInfo(`TLS certificate reloaded from ${tls.certFile}`)
    })
    yield* Effect.suspend(() => Effect.sleep(pollMillis())).pipe(
      Effect.andThen(poll),
      Effect.forever,
      Effect.forkScoped
    )
    return initial
  })

/**
 * gRPC server credentials from the same settings: insecure without TLS; otherwise the
 * files through grpc-js' `FileWatcherCertificateProvider`, which re-reads them every
 * `reload.poll_interval_ms`. With `tls.ca_file`, client certificates are required.
 */
export const grpcServerCredentials = (config: Pick<ServerConfigShape, "tls" | "reload">): Grpc.ServerCredentials => {
  const tls = config.tls
  if (!enabled(tls)) return Grpc.ServerCredentials.createInsecure()
  const refreshIntervalMs = config.reload.pollIntervalMillis
  const identity = new Grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    refreshIntervalMs
  })
  const ca = tls.caFile === undefined
    ? undefined
    : new Grpc.experimental.FileWatcherCertificateProvider({ caCertificateFile: tls.caFile, refreshIntervalMs })
  // grpc-js names the first parameter "ca" in its typings but passes it on as the identity provider.
  return Grpc.experimental.createCertificateProviderServerCredentials(identity, ca ?? null, ca !== undefined)
}

/**
 * The Node server of the HTTP port: `https` with reloading certificates when TLS is
 * configured, plain `http` otherwise; the certificate files are polled at the live
 * `reload.poll_interval_ms`.
 */
export const nodeServer = (
  config: Pick<ServerConfigShape, "tls" | "reload">,
  serverOptions: Http.ServerOptions
): Effect.Effect<Http.Server, ConfigInvalid, Scope.Scope | LiveConfig> =>
  Effect.gen(function*() {
    const tls = config.tls
    if (!enabled(tls)) return Http.createServer(serverOptions)
    const live = yield* LiveConfig
    const pollMillis = () => live.current().reload.pollIntervalMillis
    let server: Https.Server | undefined
    const options = yield* load(tls, pollMillis, (next) => server?.setSecureContext(next))
    server = Https.createServer({ ...options, ...serverOptions })
    // An https.Server is an http.Server to everything that serves requests on it.
    return server as unknown as Http.Server
  })
