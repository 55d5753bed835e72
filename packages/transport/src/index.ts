/**
 * @module @agora/transport
 *
 * WebSocket framing (one binary protobuf message per frame) and reconnect
 * backoff, shared by master, agents and the SDK.
 *
 * ```ts
 * import { connectChannel } from '@agora/transport';
 * import { agora } from '@agora/proto';
 * const ch = await connectChannel('ws://127.0.0.1:5050/agora/v1/scheduler',
 *   agora.v1.scheduler.Event, agora.v1.scheduler.Call);
 * ch.onDidReceive((event) => console.log(event.type));
 * ```
 */
export * from './channel.js';
export * from './backoff.js';
