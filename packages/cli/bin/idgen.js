#!/usr/bin/env node
// The `idgen` command (npm links it as node_modules/.bin/idgen). Node runs the TypeScript
// sources directly (type stripping), so this stays a one-line shim.
import "../src/main.ts"
