/**
 * Numbers as Python's json module reads and writes them (spec §2). Python keeps two kinds: unbounded
 * ints, written as digits, and IEEE doubles, written by `repr`. A JS number cannot tell `2.0` from `2`
 * or hold 2^53 + 1, so the lossless model keeps the text Python would write.
 */

/**
 * Python's `repr(float)`: the shortest round-trip digits (which `toExponential()` also gives), in
 * fixed notation when the decimal exponent e is in [-4, 16), with `.0` when integral, otherwise as
 * `d[.ddd]e±XX`. Non-finite values have no JSON form we may write; callers refuse them first.
 */
export function pyFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`${x} has no JSON form the daemon may write`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential());
  /* c8 ignore next */
  if (!match) throw new Error(`unexpected toExponential() output for ${x}`);
  const [, sign, first, rest = '', expText] = match as unknown as [string, string, string, string | undefined, string];
  const digits = first + rest;
  const e = Number(expText);
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
    if (digits.length <= e + 1) return `${sign}${digits}${'0'.repeat(e + 1 - digits.length)}.0`;
    return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  }
  const mantissa = rest ? `${first}.${rest}` : first;
  const exp = String(Math.abs(e)).padStart(2, '0');
  return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${exp}`;
}

/** How a JS-made number is written (spec §2): integers with |n| < 1e16 as digits, the rest as floats. */
export function jsNumberText(n: number): { text: string; isFloat: boolean } {
  if (!Number.isFinite(n)) throw new RangeError(`${n} has no JSON form the daemon may write`);
  // String() of an integer below 1e21 is plain digits; -0 becomes "0", as a Python int would be.
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return { text: String(n), isFloat: false };
  return { text: fastRepr(n) ?? pyFloatRepr(n), isFloat: true };
}

const INT_LEXEME = /^-?(?:0|[1-9]\d*)$/;
const FLOAT_LEXEME = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/**
 * What `json.dumps(json.loads(lexeme))` writes for a JSON number lexeme, or undefined if the value
 * has no form we may write (a float lexeme that overflows to infinity, which Python would write as
 * `Infinity`). Python-written files come back byte for byte: `2.0`, `-0.0`, `1e+16`, big ints.
 */
export function canonicalNumber(lexeme: string): { text: string; isFloat: boolean } | undefined {
  if (INT_LEXEME.test(lexeme)) return { text: lexeme === '-0' ? '0' : lexeme, isFloat: false };
  /* c8 ignore next */
  if (!FLOAT_LEXEME.test(lexeme)) throw new SyntaxError(`not a JSON number: ${lexeme}`);
  // Both Python's float() and JS's Number() round correctly, so they agree on the double.
  const value = Number(lexeme);
  if (!Number.isFinite(value)) return undefined;
  return { text: fastRepr(value) ?? pyFloatRepr(value), isFloat: true };
}

/**
 * Python's repr for the common case, fast: for 1e-4 <= |x| < 1e16 both Python and JS write the same
 * shortest digits in fixed notation, and a '.' in JS's text means x is not integral (where Python
 * would add ".0"). Undefined otherwise (pyFloatRepr then).
 */
function fastRepr(x: number): string | undefined {
  const abs = Math.abs(x);
  if (abs < 1e-4 || abs >= 1e16) return undefined;
  const js = String(x);
  return js.includes('.') ? js : undefined;
}
