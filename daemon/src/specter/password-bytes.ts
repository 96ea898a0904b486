/**
 * Passwords enter as UTF-8 bytes, never Unicode-normalised (spec §4, §14): the NFD spelling of a
 * password is another password. A Buffer is the caller's and is left alone; bytes made here from a
 * string are wiped once `use` settles.
 */
export type PasswordInput = Buffer | string;

export async function withPasswordBytes<T>(password: PasswordInput, use: (bytes: Buffer) => Promise<T>): Promise<T> {
  if (Buffer.isBuffer(password)) return use(password);
  const bytes = Buffer.from(password, 'utf8');
  try {
    return await use(bytes);
  } finally {
    bytes.fill(0);
  }
}
