/**
 * One generate request of the chaos load, over HTTP, gRPC or Effect RPC, single or batch,
 * as a client with every node's address would send it — the way the project's own client
 * fails over: a node that does not answer at all (killed, restarting) or answers
 * "unavailable" (503: IDGEN-COMMON-0005, IDGEN-SEG-1003, IDGEN-SNOW-2003) is skipped for
 * the next one; any other answer is the answer. Each request ends as one `Answer`: IDs, a
 * refusal with an IDGEN code (the last node's, when every node refused as unavailable), a
 * breach of the contract, or no answer from any node within the request timeout.
 */
import * as Grpc from "@grpc/grpc-js"
import { Errors } from "@idgen/core"
import { type ClientError, IdgenClient } from "@idgen/client"
import { Cause, Context, Effect, Exit, Layer, type Scope } from "effect"
import { contractViolation, grpcContractViolation } from "../support/ContractErrors.ts"
import * as GrpcClient from "../support/GrpcClient.ts"
import { GROUP, WORKSPACE } from "./Kinds.ts"

export type Interface = "http" | "grpc" | "rpc"
export const interfaces: ReadonlyArray<Interface> = ["http", "grpc", "rpc"]

export interface Answer {
  /** The node that answered (-1: none did, or the client does not say). */
  readonly node: number
  readonly outcome: "ok" | "refused" | "violation" | "unanswered"
  /** The IDGEN code of a refusal, or what went wrong ("timeout", "no answer", …). */
  readonly code: string
  readonly algorithm: string
  readonly ids: ReadonlyArray<string>
  readonly detail: string
  /** Nodes skipped because they did not answer or answered "unavailable". */
  readonly skipped: number
}

/** Sends one request for `size` IDs of `tag` (size 1: the single-ID call). */
export type Caller = (tag: string, size: number) => Effect.Effect<Answer>

export interface Node {
  readonly baseUrl: string
  readonly grpcPort: number
}

const unanswered = (code: string, detail: string, skipped: number): Answer =>
  ({ node: -1, outcome: "unanswered", code, algorithm: "", ids: [], detail, skipped })

const violation = (node: number, detail: string, skipped: number): Answer =>
  ({ node, outcome: "violation", code: "contract", algorithm: "", ids: [], detail, skipped })

/** IDs of a success body (single: `id`, batch: `ids`), checked for shape and count. */
const success = (node: number, body: any, size: number, skipped: number): Answer => {
  const ids: unknown = size === 1 ? (body?.id === undefined ? undefined : [body.id]) : body?.ids
  if (!Array.isArray(ids) || ids.length !== size || !ids.every((id) => typeof id === "string" && id.length > 0)) {
    return violation(node, `success without ${size} IDs: ${JSON.stringify(body).slice(0, 200)}`, skipped)
  }
  if (typeof body.algorithm !== "string") return violation(node, "success without an algorithm", skipped)
  return { node, outcome: "ok", code: "", algorithm: body.algorithm, ids, detail: "", skipped }
}

/** The contract's "this node cannot serve now, another may" codes (all 503). */
export const unavailableCodes: ReadonlySet<string> = new Set([
  Errors.ServiceUnavailable.code,
  Errors.DatabaseUnavailable.code,
  Errors.NoAvailableWorkerId.code
])

/**
 * Tries the nodes in turn from `first` until one gives an answer other than "unavailable";
 * `attempt` yields a string when its node did not answer at all (connection refused or
 * reset), else the answer.
 */
const failover = (
  count: number,
  first: number,
  timeoutMs: number,
  attempt: (node: number, deadline: number, skipped: number) => Effect.Effect<Answer | string>
): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    const reasons: Array<string> = []
    let refusal: Answer | undefined
    for (let i = 0; i < count; i++) {
      const node = (first + i) % count
      const result = yield* attempt(node, deadline, i)
      if (typeof result === "string") {
        reasons.push(`node-${node}: ${result}`)
      } else if (result.outcome === "refused" && unavailableCodes.has(result.code)) {
        refusal = result
      } else {
        return result
      }
    }
    return refusal ?? unanswered("no answer", reasons.join("; "), count)
  })

const requestBody = (tag: string, size: number) =>
  JSON.stringify(size === 1
    ? { workspace: WORKSPACE, group: GROUP, biz_tag: tag }
    : { workspace: WORKSPACE, group: GROUP, biz_tag: tag, size })

/** HTTP: `POST /api/v1/generate` or `/generate/batch`. */
export const httpCaller = (nodes: ReadonlyArray<Node>, apiKey: string, timeoutMs: number) => {
  let next = 0
  const headers = { "content-type": "application/json", "x-api-key": apiKey }
  const caller: Caller = (tag, size) =>
    failover(nodes.length, next++ % nodes.length, timeoutMs, (node, deadline, skipped) =>
      Effect.promise(async (): Promise<Answer | string> => {
        const url = `${nodes[node]!.baseUrl}/api/v1/generate${size === 1 ? "" : "/batch"}`
        let response: globalThis.Response
        let text: string
        try {
          response = await fetch(url, {
            method: "POST",
            headers,
            body: requestBody(tag, size),
            signal: AbortSignal.timeout(Math.max(1, deadline - Date.now()))
          })
          text = await response.text()
        } catch (error) {
          if (error instanceof DOMException && error.name === "TimeoutError") {
            return { ...unanswered("timeout", `node-${node} did not answer within the request timeout`, skipped), node }
          }
          return String((error as Error)?.cause ?? error)
        }
        let json: any = undefined
        try {
          json = text === "" ? undefined : JSON.parse(text)
        } catch {
          json = undefined
        }
        if (response.status === 200) return success(node, json, size, skipped)
        const broken = contractViolation({ status: response.status, headers: response.headers, text, json })
        if (broken !== undefined) return violation(node, broken, skipped)
        return { node, outcome: "refused", code: json.error.code, algorithm: "", ids: [], detail: json.error.message, skipped }
      })
    )
  return caller
}

/** gRPC: `Generate` or `BatchGenerate` on each node's own channel. */
export const grpcCaller = (
  nodes: ReadonlyArray<Node>,
  apiKey: string,
  timeoutMs: number
): Effect.Effect<Caller, never, Scope.Scope> =>
  Effect.gen(function*() {
    // A restarted node is reconnected to within a second, not after grpc-js's 2-minute backoff.
    const clients = yield* Effect.forEach(nodes, (node) =>
      GrpcClient.make(node.grpcPort, {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000
      }))
    let next = 0
    return (tag, size) =>
      failover(nodes.length, next++ % nodes.length, timeoutMs, (node, deadline, skipped) =>
        Effect.map(
          clients[node]!.call(
            size === 1 ? "Generate" : "BatchGenerate",
            size === 1
              ? { workspace: WORKSPACE, group: GROUP, biz_tag: tag }
              : { workspace: WORKSPACE, group: GROUP, biz_tag: tag, size },
            { apiKey, deadlineMillis: Math.max(1, deadline - Date.now()) }
          ),
          (reply): Answer | string => {
            if (reply.ok) return success(node, reply.value, size, skipped)
            if (reply.errorCode === undefined && reply.code === Grpc.status.UNAVAILABLE) return reply.details
            if (reply.errorCode === undefined && reply.code === Grpc.status.DEADLINE_EXCEEDED) {
              return { ...unanswered("timeout", `node-${node} did not answer within the request timeout`, skipped), node }
            }
            const broken = grpcContractViolation(reply)
            if (broken !== undefined) return violation(node, broken, skipped)
            return { node, outcome: "refused", code: reply.errorCode!, algorithm: "", ids: [], detail: reply.details, skipped }
          }
        ))
  })

/**
 * Effect RPC (WebSocket) through the typed client with its defaults: it fails over by
 * itself, also past nodes answering "unavailable", for at most 5 s a call.
 */
export const rpcCaller = (
  nodes: ReadonlyArray<Node>,
  apiKey: string,
  timeoutMs: number,
  firstNode: number
): Effect.Effect<Caller, never, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoints = nodes.map((_, i) => nodes[(firstNode + i) % nodes.length]!.baseUrl)
    const context = yield* Layer.build(IdgenClient.layer({ endpoints, apiKey }))
    const client = Context.get(context, IdgenClient)
    return (tag, size) => {
      const path = `${WORKSPACE}/${GROUP}/${tag}`
      const call: Effect.Effect<{ readonly algorithm: string }, ClientError> = size === 1
        ? Effect.map(client.generate(path), (r) => ({ id: r.id, algorithm: r.algorithm }))
        : Effect.map(client.batch(path, size), (r) => ({ ids: r.ids, algorithm: r.algorithm }))
      return call.pipe(
        // A bound of our own on top of the client's: past it the call hangs.
        Effect.timeoutOption(timeoutMs),
        Effect.exit,
        Effect.map((exit): Answer => {
          if (Exit.isSuccess(exit)) {
            if (exit.value._tag === "None") return unanswered("timeout", "the RPC call outlived the client's timeout", 0)
            return success(-1, exit.value.value, size, 0)
          }
          const failure = Cause.findErrorOption(exit.cause)
          if (failure._tag === "None") return violation(-1, `defect: ${Cause.pretty(exit.cause).slice(0, 300)}`, 0)
          const error = failure.value
          if (error._tag === "AllServersUnavailable") {
            // Every node refused as unavailable (its IDGEN error named in the attempt) or
            // did not answer at all.
            const refused = error.attempts.map((a) => unavailableCode(a.error)).find((code) => code !== undefined)
            return refused === undefined
              ? unanswered("no answer", error.message, nodes.length)
              : { node: -1, outcome: "refused", code: refused, algorithm: "", ids: [], detail: error.message, skipped: 0 }
          }
          return { node: -1, outcome: "refused", code: Errors.codeOf(error), algorithm: "", ids: [], detail: error.message, skipped: 0 }
        })
      )
    }
  })

/** The errors the RPC client fails over on, by tag; it records them as `<Tag>: message`. */
const unavailableByTag: Readonly<Record<string, string>> = {
  ServiceUnavailable: Errors.ServiceUnavailable.code,
  DatabaseUnavailable: Errors.DatabaseUnavailable.code,
  NoAvailableWorkerId: Errors.NoAvailableWorkerId.code
}

const unavailableCode = (attempt: string): string | undefined => unavailableByTag[attempt.slice(0, attempt.indexOf(":"))]
