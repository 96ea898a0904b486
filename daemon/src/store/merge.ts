/**
 * Merging user data. Keys inside user data are data (DESIGN §3): results are built with
 * `Object.fromEntries`, which defines own properties, so a key such as `__proto__` stays an
 * ordinary member and never reaches a prototype. Existing keys keep their place; new ones are
 * appended (Specter's order rule). Inputs are never modified.
 */

export type JsonObject = { [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(object: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** RFC 7396 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const base = isJsonObject(target) ? target : {};
  const entries: Array<[string, unknown]> = [];
  for (const key of Object.keys(base)) {
    if (!own(patch, key)) entries.push([key, base[key]]);
    else if (patch[key] !== null) entries.push([key, mergePatch(base[key], patch[key])]);
  }
  for (const key of Object.keys(patch)) {
    if (!own(base, key) && patch[key] !== null) entries.push([key, mergePatch(undefined, patch[key])]);
  }
  return Object.fromEntries(entries);
}

/**
 * Specter's `update_service_data` (specter-format §9): each top-level patch key replaces the old
 * value whole (nested objects are not merged, `null` is stored as `null`).
 */
export function shallowUpdate(target: JsonObject, patch: JsonObject): JsonObject {
  const entries: Array<[string, unknown]> = Object.keys(target).map((key) => [key, own(patch, key) ? patch[key] : target[key]]);
  for (const key of Object.keys(patch)) if (!own(target, key)) entries.push([key, patch[key]]);
  return Object.fromEntries(entries);
}
