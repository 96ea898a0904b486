export * from './errors.js';
export * from './names.js';
export * from './framing.js';
export * from './catalogue.js';
export * from './validate.js';
export * from './methods/common.js';
export type { MethodSpec } from './methods/define.js';
export { NOTIFICATIONS, WatchChanged, WatchTopic } from './methods/watch.js';
export * from './lossless/index.js';
