/**
 * The wire contracts that the server and its clients share: the gRPC messages and service
 * definition generated from `proto/` (`npm run generate`; never edited by hand) and the
 * Effect RPC group.
 */
import { resolve } from "node:path"

export * as IdgenV1 from "./gen/idgen/v1/idgen.ts"
export { encodeBatchGenerateResponse } from "./grpc/BatchCodec.ts"
export { IdServiceDefinition } from "./grpc/IdServiceDefinition.ts"
export * as Rpcs from "./IdRpcs.ts"
export { IdRpcs } from "./IdRpcs.ts"

/** The directory holding `idgen/v1/idgen.proto`, for tools that load the `.proto` itself (reflection). */
export const protoDir: string = resolve(import.meta.dirname, "../../../proto")

/** The contract's `.proto`, relative to `protoDir`. */
export const idgenProtoFile = "idgen/v1/idgen.proto"
