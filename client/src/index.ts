export { CofferClient, type ClientOptions, type CallOptions, type BatchCall, type BatchOutcome, type DaemonNotification } from './client.js';
export { CofferError, REASONS, type Reason, type MethodName, type ParamsOf, type ResultOf } from '@coffer/protocol';
export { resolveSocketPath, SYSTEM_SOCKET, DEVELOPMENT_SOCKET, type SocketLookup } from './socket-path.js';
