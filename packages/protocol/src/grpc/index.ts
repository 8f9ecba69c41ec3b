/**
 * `@idgen/protocol/grpc`: the gRPC messages, client and service definition generated from
 * `proto/` (`npm run generate`; never edited by hand), with the server's faster batch
 * encoder. Node-only (@grpc/grpc-js).
 */
export * as IdgenV1 from "../gen/idgen/v1/idgen.ts"
export { encodeBatchGenerateResponse } from "./BatchCodec.ts"
export { IdServiceDefinition } from "./IdServiceDefinition.ts"
