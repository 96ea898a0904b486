import { CofferError } from '@coffer/protocol';
import { fernetDecrypt, fernetEncrypt, InvalidToken, pyDumps, pyLoads } from '../../specter/index.js';
import { VALUE_MAX_DEPTH, type ValueCipher, type ValueText } from '../../port/layout.js';

export { VALUE_MAX_DEPTH };

/**
 * Values are stored as Python's `json.dumps(value)` text (spec §2: `", "`/`": "`, ASCII escapes,
 * Python float repr), so Specter reads them as it wrote them, and read back as Python's json.loads
 * reads them, into the lossless model: a Python `2.0` stays `2.0`, big ints stay exact.
 */
export const pythonValueText: ValueText = {
  encode: (value) => pyDumps(value),
  decode: (text) => pyLoads(text, { maxDepth: VALUE_MAX_DEPTH }),
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Fernet under the user's secret (the Fernet key's 32 raw bytes), Specter's only cipher. Fernet
 * has no associated data, so `place` cannot be bound in: a token moved to another service (or to a
 * document field of the same user) opens there. That is Specter's format, not something to paper
 * over; the coffer layout binds the place (DESIGN §3.1). A token under another key, altered or
 * malformed is CORRUPT.
 */
export const fernetValueCipher: ValueCipher = {
  seal(user, _place, text) {
    const plaintext = Buffer.from(text, 'utf8');
    try {
      return user.withSecret((secret) => fernetEncrypt(secret, plaintext));
    } finally {
      plaintext.fill(0);
    }
  },
  open(user, _place, token) {
    let plaintext: Buffer | undefined;
    try {
      plaintext = user.withSecret((secret) => fernetDecrypt(secret, token));
      return utf8.decode(plaintext);
    } catch (error) {
      if (error instanceof InvalidToken || error instanceof TypeError) {
        throw new CofferError(
          'CORRUPT',
          'A stored value does not decrypt under this user secret (altered, or sealed under another key); it was left untouched',
        );
      }
      throw error;
    } finally {
      plaintext?.fill(0);
    }
  },
};
