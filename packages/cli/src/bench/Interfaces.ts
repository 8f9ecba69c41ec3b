/**
 * The interfaces `idgen bench` drives, apart from their drivers: the command's flags name
 * them without loading gRPC and the client SDK.
 */
export const interfaces = ["http", "grpc", "rpc"] as const
export type InterfaceName = (typeof interfaces)[number]
