import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type TypeCheck } from '@sinclair/typebox/compiler';
import { methodSpec, type MethodName } from './catalogue.js';
import './methods/common.js';

const compiled = new Map<MethodName, TypeCheck<TSchema>>();

function checkerFor(method: MethodName): TypeCheck<TSchema> {
  let check = compiled.get(method);
  if (!check) {
    check = TypeCompiler.Compile(methodSpec(method).params);
    compiled.set(method, check);
  }
  return check;
}

/**
 * Checks a method's params against its schema. Returns null when they fit, else a short reason
 * naming the first offending member. The message names paths and rules only, never the value:
 * params carry passwords and secrets.
 */
export function paramsProblem(method: MethodName, params: unknown): string | null {
  const check = checkerFor(method);
  if (check.Check(params)) return null;
  const first = check.Errors(params).First();
  if (!first) return 'params do not match the schema';
  const where = first.path === '' ? 'params' : `params${first.path.replace(/\//g, '.')}`;
  // "Expected union value" alone does not say what was expected: a union's description does.
  const description = first.type === ValueErrorType.Union ? (first.schema as TSchema).description : undefined;
  return `${where}: ${first.message}${typeof description === 'string' ? ` (${description})` : ''}`;
}
