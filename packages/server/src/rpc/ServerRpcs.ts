/**
 * The RPC group as the server serves it: `IdRpcs` with every payload taken as it came.
 * The RPC layer would otherwise decode payloads with the protocol's structural schemas and
 * answer a mistyped field with a defect (`Expected number … at ["size"]`); here the
 * handlers hand the payload to `IdRequests`, which decodes it with the contract's own
 * schemas, so a bad field is the typed `InvalidRequest` naming it — as over HTTP and gRPC.
 * Clients keep using `IdRpcs`: the wire format is the same.
 */
import { Rpcs } from "@idgen/protocol"
import { Schema } from "effect"
import { RpcGroup } from "effect/rpc"

export class ServerRpcs extends RpcGroup.make(
  Rpcs.Generate.setPayload(Schema.Unknown),
  Rpcs.BatchGenerate.setPayload(Schema.Unknown),
  Rpcs.Parse.setPayload(Schema.Unknown),
  Rpcs.HealthCheck.setPayload(Schema.Unknown)
) {}
