import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type TypeCheck } from '@sinclair/typebox/compiler';
import { methodSpec, type MethodName } from './catalogue.js';
import './methods/common.js';

/** Failures of a patterned string's own constraints, which its description states as a rule. */
const STRING_RULE_ERRORS = new Set<ValueErrorType>([
  ValueErrorType.StringPattern,
  ValueErrorType.StringMaxLength,
  ValueErrorType.StringMinLength,
  ValueErrorType.StringFormat,
]);

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
  // A name that breaks its rule is told the rule in words (the schema's description), not a regex;
  // so is one that fits no branch of a union of rules (a document name: one rule per layout).
  const stringRule = STRING_RULE_ERRORS.has(first.type) && 'pattern' in first.schema;
  const rule = stringRule || first.type === ValueErrorType.Union ? (first.schema as TSchema).description : undefined;
  return rule === undefined ? `${where}: ${first.message}` : `${where}: expected ${rule}`;
}
