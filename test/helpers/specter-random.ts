import type { JsonValue } from '../../daemon/src/specter/index.js';

/** Seeded random numbers (mulberry32), so a failing property check can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random JSON: strings of arbitrary UTF-16 code units (controls, DEL, lone surrogates, astral), varied numbers. */
export function randomJson(random: () => number, depth = 0): JsonValue {
  const pick = random();
  if (depth < 4 && pick < 0.15) return Array.from({ length: Math.floor(random() * 5) }, () => randomJson(random, depth + 1));
  if (depth < 4 && pick < 0.3) {
    const out: Record<string, JsonValue> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--) out[randomString(random)] = randomJson(random, depth + 1);
    return out;
  }
  if (pick < 0.4) return [null, true, false][Math.floor(random() * 3)] as JsonValue;
  if (pick < 0.7) return randomString(random);
  return randomNumber(random);
}

function randomString(random: () => number): string {
  const pools = [[0, 0x20], [0x20, 0x7f], [0x7f, 0xa0], [0xa0, 0xd800], [0xd800, 0xe000], [0xe000, 0x10000]];
  let s = '';
  for (let i = Math.floor(random() * 12); i > 0; i--) {
    const [lo, hi] = pools[Math.floor(random() * pools.length)] as [number, number];
    s += random() < 0.1 ? String.fromCodePoint(0x10000 + Math.floor(random() * 0xfffff)) : String.fromCharCode(lo + Math.floor(random() * (hi - lo)));
  }
  return s;
}

export function randomNumber(random: () => number): number {
  const kind = random();
  if (kind < 0.3) return Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 53));
  if (kind < 0.6) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setUint32(0, Math.floor(random() * 2 ** 32));
  bits.setUint32(4, Math.floor(random() * 2 ** 32));
  const x = bits.getFloat64(0);
  return Number.isFinite(x) && !Object.is(x, -0) ? x : 0.5;
}

