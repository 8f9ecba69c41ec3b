export * as Errors from "./Errors.ts"
export * as Names from "./Names.ts"
