import type { Static, TSchema } from '@sinclair/typebox';
import type { Reason } from '../errors.js';

/** One method of the catalogue: its params and result as JSON Schemas that also carry the TS types. */
export interface MethodSpec<P extends TSchema = TSchema, R extends TSchema = TSchema> {
  readonly summary: string;
  readonly params: P;
  readonly result: R;
  /** Application errors this method can answer, besides the protocol ones every method can. */
  readonly errors: readonly Reason[];
}

export function defineMethod<P extends TSchema, R extends TSchema>(spec: MethodSpec<P, R>): MethodSpec<P, R> {
  return spec;
}

export type ParamsOfSpec<S> = S extends MethodSpec<infer P, TSchema> ? Static<P> : never;
export type ResultOfSpec<S> = S extends MethodSpec<TSchema, infer R> ? Static<R> : never;
