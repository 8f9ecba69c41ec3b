/**
 * The front door on the gRPC port, as a grpc-js server interceptor: before a call's message
 * is read, its `x-api-key` metadata goes through the node's `Admission` (key, failed-attempt
 * limit; the rate limits are taken per request by the pipeline, `IdRequests`). A refused call is answered
 * with its IDGEN status at once — grpc-js reads a message only when the handler asks, and the
 * handler is not even told about the call. `HealthCheck`, the standard health service and
 * reflection need no key and pass untouched.
 *
 * A message over `grpc.max_receive_message_length` (`http.max_body_bytes`) is refused by
 * grpc-js itself as soon as its length prefix arrives, with RESOURCE_EXHAUSTED; that status
 * is rewritten to the contract's INVALID_ARGUMENT IDGEN-COMMON-0001 here (grpc-js sends it
 * from the innermost call object, which is the one this interceptor is handed).
 */
import * as Grpc from "@grpc/grpc-js"
import { type Errors, Immediate } from "@idgen/core"
import { type Cause, type Effect, Exit } from "effect"
import type { Admission } from "../requests/Admission.ts"
import { tooLarge } from "../requests/RequestErrors.ts"
import { toStatus } from "./StatusMapping.ts"

export interface GrpcAdmissionOptions {
  readonly admission: Admission["Service"]
  readonly maxMessageBytes: number
  /** The paths whose calls need a key, e.g. `/idgen.v1.IdService/Generate`. */
  readonly keyed: ReadonlySet<string>
  readonly clientIp: (peer: string) => string | undefined
  /** Runs an admission that needs a lookup. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>, onExit: (exit: Exit.Exit<A, E>) => void) => void
  /** The server's outcome mapper (`Outcome`): the status of a failed admission. */
  readonly failedStatus: (cause: Cause.Cause<Errors.IdgenError>) => Grpc.StatusObject
  /** A call refused here, before its handler: for the span the handler would have made. */
  readonly onRefused: (path: string, metadata: Grpc.Metadata, status: Grpc.StatusObject) => void
}

/** grpc-js' own refusals of an oversized message (`stream-decoder`, `server-interceptors`). */
const isOversized = (status: { readonly code: Grpc.status; readonly details?: string | undefined }) =>
  status.code === Grpc.status.RESOURCE_EXHAUSTED && typeof status.details === "string" && status.details.startsWith("Received message")

export const interceptor = (options: GrpcAdmissionOptions): Grpc.ServerInterceptor => {
  const oversized = toStatus(tooLarge(options.maxMessageBytes, undefined))
  return (method, call) => {
    const sendStatus = call.sendStatus.bind(call)
    call.sendStatus = (status) => sendStatus(isOversized(status) ? oversized : status)
    if (!options.keyed.has(method.path)) return new Grpc.ServerInterceptingCall(call)
    const intercepting: Grpc.ServerInterceptingCall = new Grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next(
          new Grpc.ServerListenerBuilder().withOnReceiveMetadata((metadata, pass) => {
            const refuse = (status: Grpc.StatusObject) => {
              options.onRefused(method.path, metadata, status)
              intercepting.sendStatus(status)
            }
            const key = metadata.get("x-api-key")[0]
            const admitted = options.admission.authenticateUnsafe(
              typeof key === "string" ? key : "",
              options.clientIp(call.getPeer())
            )
            if (Immediate.isError(admitted)) return refuse(toStatus(admitted))
            if (!Immediate.isPending(admitted)) return pass(metadata)
            options.run(admitted, (exit) => Exit.isSuccess(exit) ? pass(metadata) : refuse(options.failedStatus(exit.cause)))
          }).build()
        )
    })
    return intercepting
  }
}
