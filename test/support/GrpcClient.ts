/**
 * gRPC clients for black-box tests, built from the `.proto` files with @grpc/proto-loader —
 * the contract's `proto/idgen/v1/idgen.proto` and the standard health and reflection protos —
 * never from the server's code, so they see exactly what any other gRPC stack would.
 *
 *   const grpc = yield* GrpcClient.make(server.grpcPort)
 *   const reply = yield* grpc.call("BatchGenerate", { workspace, group, biz_tag, size: 10 }, { apiKey })
 *   if (reply.ok) reply.value.ids ... else reply.code, reply.errorCode
 */
import * as Grpc from "@grpc/grpc-js"
import * as ProtoLoader from "@grpc/proto-loader"
import { assert } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { dirname, join, resolve } from "node:path"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const repoRoot = resolve(import.meta.dirname, "../..")

/** Where the standard protos ship (grpc-health-check, @grpc/reflection). */
const healthProtoDir = join(dirname(require.resolve("grpc-health-check/package.json")), "proto")
const reflectionProtoDir = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto")

const loadOptions: ProtoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: false }

const load = (file: string, dir: string): any =>
  Grpc.loadPackageDefinition(ProtoLoader.loadSync(file, { ...loadOptions, includeDirs: [dir] }))

export const idgenPackage = () => load("idgen/v1/idgen.proto", join(repoRoot, "proto")).idgen.v1
export const healthPackage = () => load("health/v1/health.proto", healthProtoDir).grpc.health.v1
export const reflectionPackage = () => load("grpc/reflection/v1/reflection.proto", reflectionProtoDir).grpc.reflection.v1

export type Reply<A = any> =
  | { readonly ok: true; readonly value: A }
  | {
    readonly ok: false
    readonly code: Grpc.status
    readonly details: string
    /** Trailing metadata `idgen-error-code`. */
    readonly errorCode: string | undefined
    readonly metadata: Record<string, unknown>
  }

export interface CallOptions {
  /** Sent as metadata `x-api-key`. */
  readonly apiKey?: string
  /** Deadline in milliseconds from now. */
  readonly deadlineMillis?: number
  /** Further metadata entries (e.g. `traceparent`). */
  readonly metadata?: Record<string, string>
}

const unaryCall = (client: any, method: string, request: unknown, options: CallOptions = {}): Effect.Effect<Reply> =>
  Effect.callback<Reply>((resume) => {
    const metadata = new Grpc.Metadata()
    if (options.apiKey !== undefined) metadata.set("x-api-key", options.apiKey)
    for (const [name, value] of Object.entries(options.metadata ?? {})) metadata.set(name, value)
    const callOptions = options.deadlineMillis === undefined ? {} : { deadline: Date.now() + options.deadlineMillis }
    const call = client[method](request, metadata, callOptions, (error: Grpc.ServiceError | null, value: unknown) => {
      if (error === null) return resume(Effect.succeed({ ok: true, value }))
      const errorCode = error.metadata?.get("idgen-error-code")[0]
      resume(Effect.succeed({
        ok: false,
        code: error.code,
        details: error.details,
        errorCode: typeof errorCode === "string" ? errorCode : undefined,
        metadata: error.metadata?.getMap() ?? {}
      }))
    })
    return Effect.sync(() => call.cancel())
  })

export interface GrpcClientShape {
  /** An `idgen.v1.IdService` call; never fails, the status is in the reply. */
  readonly call: (method: "Generate" | "BatchGenerate" | "Parse" | "HealthCheck", request: unknown, options?: CallOptions) => Effect.Effect<Reply>
  /** `grpc.health.v1.Health/Check`. */
  readonly healthCheck: (service: string) => Effect.Effect<Reply<{ status: string }>>
  /** One request/response exchange on `ServerReflectionInfo` (v1). */
  readonly reflect: (request: Record<string, unknown>) => Effect.Effect<any>
  readonly target: string
}

/**
 * Clients on 127.0.0.1:`port`, closed with the scope. `channelOptions` go to the IdService
 * channel (e.g. `grpc.max_reconnect_backoff_ms` for a server that is killed and restarted).
 */
export const make = (port: number, channelOptions: Grpc.ChannelOptions = {}): Effect.Effect<GrpcClientShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const target = `127.0.0.1:${port}`
    const credentials = Grpc.credentials.createInsecure()
    const ids = yield* Effect.acquireRelease(
      Effect.sync(() => new (idgenPackage().IdService)(target, credentials, channelOptions)),
      (client: any) => Effect.sync(() => client.close())
    )
    const health = yield* Effect.acquireRelease(
      Effect.sync(() => new (healthPackage().Health)(target, credentials)),
      (client: any) => Effect.sync(() => client.close())
    )
    const reflection = yield* Effect.acquireRelease(
      Effect.sync(() => new (reflectionPackage().ServerReflection)(target, credentials)),
      (client: any) => Effect.sync(() => client.close())
    )
    const reflect = (request: Record<string, unknown>) =>
      Effect.callback<any>((resume) => {
        const stream = reflection.ServerReflectionInfo()
        stream.once("data", (response: unknown) => {
          stream.end()
          resume(Effect.succeed(response))
        })
        stream.once("error", (error: unknown) => resume(Effect.die(error)))
        stream.write(request)
        return Effect.sync(() => stream.cancel())
      })
    return {
      target,
      call: (method, request, options) => unaryCall(ids, method, request, options),
      healthCheck: (service) => unaryCall(health, "Check", { service }),
      reflect
    } satisfies GrpcClientShape
  })

/** Asserts a failed reply with gRPC `code` and IDGEN `errorCode`; returns it. */
export const assertStatus = (reply: Reply, code: Grpc.status, errorCode: string) => {
  assert.isFalse(reply.ok, `expected ${Grpc.status[code]} ${errorCode}, got success ${JSON.stringify(reply)}`)
  if (reply.ok) throw new Error("unreachable")
  assert.strictEqual(reply.code, code, `expected ${Grpc.status[code]}, got ${Grpc.status[reply.code]}: ${reply.details}`)
  assert.strictEqual(reply.errorCode, errorCode, reply.details)
  assert.isAbove(reply.details.length, 0)
  assert.notInclude(reply.details, "    at ", "a stack trace leaked")
  return reply
}

/** The value of a successful reply (asserting success). */
export const valueOf = <A = any>(reply: Reply<A>): A => {
  if (!reply.ok) assert.fail(`expected success, got ${Grpc.status[reply.code]} ${reply.errorCode}: ${reply.details}`)
  return (reply as { value: A }).value
}
