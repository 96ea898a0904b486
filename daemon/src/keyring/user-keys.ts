import { CofferError } from '@coffer/protocol';
import { MemoryReleasedError, SecretMemory, wipe, type MemoryOps } from '../crypto/secret-memory.js';
import type { KeySlots } from '../port/accounts.js';

export interface KeyShape {
  readonly secretBytes: number;
  readonly kekBytes: number;
}

/**
 * One user's key material in ONE sodium allocation (NOTES: each `sodium_malloc` locks pages, and
 * the 8 MiB memlock limit fills after ~2000 of them): [secret A | secret B | kek | next kek].
 * Which of A/B is the primary secret flips when a rotation is promoted, so switching secrets is an
 * index change, never a copy. While idle the allocation is no-access; it is readable only inside
 * the synchronous callbacks below. After `destroy` every access answers LOCKED.
 */
export class UserKeys {
  private primaryIndex: 0 | 1 = 0;
  private pending = false;
  private kekKnown = true;

  private constructor(
    private readonly memory: SecretMemory,
    private readonly shape: KeyShape,
  ) {}

  /** `lingerMs`: how long the keys stay readable after a read (SecretMemory; 0 = re-protect at once). */
  static allocate(shape: KeyShape, ops?: MemoryOps, lingerMs = 0): UserKeys {
    return new UserKeys(SecretMemory.allocate(shape.secretBytes * 2 + shape.kekBytes * 2, ops, lingerMs), shape);
  }

  get isDestroyed(): boolean {
    return this.memory.isDestroyed;
  }

  /**
   * Whether the password-derived key is held. Keys restored from a stored session
   * (keyring/session-vault.ts) hold the secret only: no password was given to derive it.
   */
  get hasKek(): boolean {
    return this.kekKnown;
  }

  /** Filled from a stored session: the primary secret only. */
  markWithoutKek(): void {
    this.kekKnown = false;
  }

  /** A new secret is primary and the old one still kept (users.json has a pending rotation). */
  get rotationPending(): boolean {
    return this.pending;
  }

  /**
   * The slots while the keys are still being filled by async work (Argon2id writing the kek) and
   * nobody else can see them. Must not be used after `seal`.
   */
  fillSlots(): KeySlots {
    return this.slotsOf(this.memory.unsealed());
  }

  /** Done filling: from now on the memory is no-access while idle. */
  seal(rotationPending: boolean): void {
    this.pending = rotationPending;
    this.memory.seal();
  }

  readPrimary<T>(fn: (secret: Buffer) => T): T {
    return this.guard(() => this.memory.read((buf) => fn(this.slotsOf(buf).primary)));
  }

  readPrevious<T>(fn: (secret: Buffer) => T): T {
    // A view taken during the rotation, used after it finished: the data is all under the primary now.
    if (!this.pending) throw new CofferError('CONFLICT', 'The secret rotation finished meanwhile; retry');
    return this.guard(() => this.memory.read((buf) => fn(this.slotsOf(buf).previous)));
  }

  /**
   * Writes a new secret into the spare slot (the one that is not primary) and lets `fn` wrap it.
   * It becomes primary only on `promoteNext`, after its wrap is durable: until then new data must
   * keep going under the secret that is on disk.
   */
  stageNext<T>(fn: (next: Buffer, slots: KeySlots) => T): T {
    if (this.pending) throw new Error('a rotation is already pending');
    return this.guard(() => this.memory.write((buf) => fn(this.slotsOf(buf).previous, this.slotsOf(buf))));
  }

  promoteNext(): void {
    if (this.isDestroyed) throw lockedMeanwhile();
    this.primaryIndex = this.primaryIndex === 0 ? 1 : 0;
    this.pending = true;
  }

  /** The staged secret was not recorded: forget it. */
  discardNext(): void {
    if (this.isDestroyed) return;
    this.memory.write((buf) => wipe(this.slotsOf(buf).previous));
  }

  /** The rotation is finished on disk: zero the old secret. */
  dropPrevious(): void {
    if (this.isDestroyed) return;
    this.memory.write((buf) => wipe(this.slotsOf(buf).previous));
    this.pending = false;
  }

  /** The re-wrapped record is durable: its key (in `nextKek`) becomes the one to wrap with. */
  commitNextKek(): void {
    this.guard(() =>
      this.memory.write((buf) => {
        const slots = this.slotsOf(buf);
        slots.nextKek.copy(slots.kek);
        wipe(slots.nextKek);
      }),
    );
  }

  /**
   * Takes what a fresh unlock learned (the same secrets, maybe a newer kek, maybe a finished
   * rotation) into these keys in place, so `UnlockedUser` views the store holds stay valid: a
   * second login of the same user must never make the first one's calls answer LOCKED.
   */
  absorb(fresh: UserKeys): void {
    if (fresh.kekKnown) {
      fresh.memory.read((from) => {
        const kek = fresh.slotsOf(from).kek;
        this.guard(() => this.memory.write((to) => kek.copy(this.slotsOf(to).kek)));
      });
      this.kekKnown = true;
    }
    if (this.pending && !fresh.pending) this.dropPrevious();
  }

  destroy(): void {
    this.memory.destroy();
  }

  private slotsOf(buf: Buffer): KeySlots {
    const { secretBytes: s, kekBytes: k } = this.shape;
    const a = buf.subarray(0, s);
    const b = buf.subarray(s, 2 * s);
    return {
      primary: this.primaryIndex === 0 ? a : b,
      previous: this.primaryIndex === 0 ? b : a,
      kek: buf.subarray(2 * s, 2 * s + k),
      nextKek: buf.subarray(2 * s + k, 2 * s + 2 * k),
    };
  }

  /** The user was locked (or the daemon is stopping) while a call still held these keys. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof MemoryReleasedError) throw lockedMeanwhile();
      throw error;
    }
  }
}

function lockedMeanwhile(): CofferError {
  return new CofferError('LOCKED', 'Locked: the user was locked meanwhile; log in again');
}
