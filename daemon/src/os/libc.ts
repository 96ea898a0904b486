import koffi from 'koffi';

type Library = ReturnType<typeof koffi.load>;
let lib: Library | undefined;

/**
 * glibc, opened once for every call Node has no API for (prctl, setrlimit, sd_notify's datagram
 * socket, SO_PEERCRED, pipe2, malloc_trim). Each caller declares the functions it uses. Throws
 * where there is no libc.so.6 (musl): callers say what they do then.
 */
export function libc(): Library {
  lib ??= koffi.load('libc.so.6');
  return lib;
}
