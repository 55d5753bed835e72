/**
 * @module @agora/cli
 *
 * The `agora` command line: `agora local`, `agora master`, `agora agent`,
 * `agora marathon`. Run it with `npm run agora -- <command> [flags]` or the
 * `bin/agora.mjs` launcher.
 */
export { machineSlices, type AgentSlice } from './commands/local.js';
export * from './flags.js';
