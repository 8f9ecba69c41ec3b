/**
 * The wire contracts that the server and its clients share, without Node-only code: the
 * Effect RPC group. The HTTP API lives in `@idgen/protocol/http` (also free of Node), the
 * gRPC code generated from `proto/` in `@idgen/protocol/grpc`, so that importing this entry
 * loads neither @grpc/grpc-js nor anything of Node.
 */
export * as Rpcs from "./IdRpcs.ts"
export { IdRpcs } from "./IdRpcs.ts"
