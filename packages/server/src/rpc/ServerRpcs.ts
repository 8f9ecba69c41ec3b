/**
 * The RPC group as the server serves it: `IdRpcs` with every payload taken as it came.
 * The RPC layer would otherwise decode payloads with the protocol's structural schemas and
 * answer a mistyped field with a defect (`Expected number … at ["size"]`); here the
 * handlers hand the payload to `IdRequests`, which decodes it with the contract's own
 * schemas, so a bad field is the typed `InvalidRequest` naming it — as over HTTP and gRPC.
 * `Schema.Any`, not `Unknown`: the JSON codec of `Unknown` refuses a message without a
 * payload with a bare defect (`Expected JSON value`); with `Any` the handler gets
 * `undefined`, answered like `null` (InvalidRequest; HealthCheck needs no payload).
 * Clients keep using `IdRpcs`: the wire format is the same.
 */
import { Rpcs } from "@idgen/protocol"
import { Schema } from "effect"
import { RpcGroup } from "effect/rpc"

export class ServerRpcs extends RpcGroup.make(
  Rpcs.Generate.setPayload(Schema.Any),
  Rpcs.BatchGenerate.setPayload(Schema.Any),
  Rpcs.Parse.setPayload(Schema.Any),
  Rpcs.HealthCheck.setPayload(Schema.Any)
) {}
