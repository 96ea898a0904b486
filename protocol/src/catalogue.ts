import type { TSchema } from '@sinclair/typebox';
import { REASONS, type Reason } from './errors.js';
import { annotationsMethods } from './methods/annotations.js';
import { daemonMethods } from './methods/daemon.js';
import { docsMethods } from './methods/docs.js';
import { filesMethods } from './methods/files.js';
import { sessionsMethods } from './methods/sessions.js';
import { usersMethods } from './methods/users.js';
import { servicesMethods } from './methods/services.js';
import { NOTIFICATIONS, watchMethods } from './methods/watch.js';
import type { MethodSpec, ParamsOfSpec, ResultOfSpec } from './methods/define.js';

/** Bumped when a method changes incompatibly; clients may check it against daemon.status. */
export const PROTOCOL_VERSION = 1;

/**
 * The method catalogue: every method the daemon serves, with its params/result schemas. Adding a
 * method starts here; the daemon's handler map and the clients' typed calls are both checked
 * against it by the compiler.
 */
export const METHODS = {
  ...daemonMethods,
  ...usersMethods,
  ...sessionsMethods,
  ...servicesMethods,
  ...watchMethods,
  ...docsMethods,
  ...annotationsMethods,
  ...filesMethods,
} as const;

export type MethodName = keyof typeof METHODS;
export type ParamsOf<M extends MethodName> = ParamsOfSpec<(typeof METHODS)[M]>;
export type ResultOf<M extends MethodName> = ResultOfSpec<(typeof METHODS)[M]>;

/** `TypedJSONRPCServer`/`TypedJSONRPCClient` method map (json-rpc-2.0 wants a `type`, not an interface). */
export type Methods = { [M in MethodName]: (params: ParamsOf<M>) => ResultOf<M> };

/** Errors any method can answer, whatever its own list says (FORBIDDEN: a peer scoped by --policy). */
export const COMMON_ERRORS: readonly Reason[] = [
  'INVALID_PARAMS',
  'FORBIDDEN',
  'INTERNAL_ERROR',
  'SHUTTING_DOWN',
];

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(METHODS, name);
}

export function methodSpec(name: MethodName): MethodSpec<TSchema, TSchema> {
  return METHODS[name];
}

/**
 * The catalogue as an OpenRPC 1.2 document (the format `rpc.discover` is named after), so clients
 * in any language can check themselves against it. Schemas are plain JSON Schema.
 */
export function discoverDocument(version: string): {
  openrpc: string;
  info: { title: string; version: string };
  methods: unknown[];
  components: { errors: unknown };
  'x-notifications': unknown[];
} {
  const methods = (Object.keys(METHODS) as MethodName[]).map((name) => {
    const spec = methodSpec(name);
    const params = toJsonSchema(spec.params) as { properties?: Record<string, unknown>; required?: string[] };
    const required = new Set(params.required ?? []);
    return {
      name,
      summary: spec.summary,
      paramStructure: 'by-name',
      params: Object.entries(params.properties ?? {}).map(([param, schema]) => ({
        name: param,
        required: required.has(param),
        schema,
      })),
      result: { name: 'result', schema: toJsonSchema(spec.result) },
      errors: [...new Set([...spec.errors, ...COMMON_ERRORS])].map((reason) => errorEntry(reason)),
      'x-params-schema': params,
    };
  });
  const errors = Object.fromEntries((Object.keys(REASONS) as Reason[]).map((reason) => [reason, errorEntry(reason)]));
  const notifications = Object.entries(NOTIFICATIONS).map(([name, spec]) => ({
    name,
    summary: spec.summary,
    params: toJsonSchema(spec.params),
  }));
  return { openrpc: '1.2.6', info: { title: 'cofferd', version }, methods, components: { errors }, 'x-notifications': notifications };
}

function errorEntry(reason: Reason): { code: number; message: string; data: { reason: Reason } } {
  return { code: REASONS[reason].code, message: REASONS[reason].message, data: { reason } };
}

/** TypeBox schemas are JSON Schema plus symbol-keyed metadata; a JSON round trip drops the symbols. */
function toJsonSchema(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}
