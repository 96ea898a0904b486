import { isLosslessObject, type LosslessObject, type LosslessValue } from '@coffer/protocol';

/**
 * Merging user data, on the lossless model (DESIGN-NOTES "Lossless values"): objects are Maps, so
 * every key keeps its place, integer-like keys ("10" before "2") included, and `__proto__` is an
 * ordinary member. Existing keys keep their place; new ones are appended (Specter's order rule,
 * Python's dict.update). Numbers are carried as they are (`1.0` stays `1.0`). Inputs are never
 * modified; unchanged subtrees are shared (the model is never mutated in place once stored).
 */

export type JsonObject = LosslessObject;

export function isJsonObject(value: LosslessValue | undefined): value is LosslessObject {
  return isLosslessObject(value);
}

/** RFC 7396 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: LosslessValue | undefined, patch: LosslessValue): LosslessValue {
  if (!isLosslessObject(patch)) return patch;
  const base: LosslessObject = isLosslessObject(target) ? target : new Map();
  const out: LosslessObject = new Map();
  for (const [key, value] of base) {
    const change = patch.get(key);
    if (change === undefined) out.set(key, value);
    else if (change !== null) out.set(key, mergePatch(value, change));
  }
  for (const [key, change] of patch) {
    if (!base.has(key) && change !== null) out.set(key, mergePatch(undefined, change));
  }
  return out;
}

/**
 * Specter's `update_service_data` (specter-format §9), Python's dict.update: each top-level patch
 * key replaces the old value whole (nested objects are not merged, `null` is stored as `null`).
 */
export function shallowUpdate(target: LosslessObject, patch: LosslessObject): LosslessObject {
  const out: LosslessObject = new Map(target);
  for (const [key, value] of patch) out.set(key, value);
  return out;
}
