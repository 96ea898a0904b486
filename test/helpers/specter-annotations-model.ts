import { AnnotationsFile as FileOnDisk, clonePy, FILE_MAX_DEPTH, pyDumpFile, pyLoadsBytes, type PyObject, type PyValue } from '../../daemon/src/specter/index.js';

/**
 * Specter's ServiceAnnotationsStorage on one annotations file (spec §10), for the tests: get, set
 * and remove of address and transaction annotations, over the daemon's own reading of the file
 * (specter/annotations-file.ts), written as the daemon writes it (pyDumpFile).
 */
export class AnnotationsFile {
  private constructor(private readonly file: FileOnDisk) {}

  static empty(): AnnotationsFile {
    return new AnnotationsFile(FileOnDisk.fromValue(new Map()));
  }

  static fromValue(value: PyValue): AnnotationsFile {
    return new AnnotationsFile(FileOnDisk.fromValue(value));
  }

  static parse(bytes: Buffer): AnnotationsFile {
    return AnnotationsFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
  }

  clone(): AnnotationsFile {
    return AnnotationsFile.fromValue(clonePy(this.file.toValue()));
  }

  /** The address's annotation, or null when absent (service data would give {}, this gives null). */
  getAddress(address: string): PyValue {
    return this.file.addresses().get(address) ?? null;
  }

  setAddress(address: string, value: PyValue): void {
    this.file.addresses().set(address, value);
  }

  /** Deletes the address's annotation; returns whether it was there (Specter saves either way). */
  removeAddress(address: string): boolean {
    return this.file.addresses().delete(address);
  }

  addresses(): PyObject {
    return this.file.addresses();
  }

  /** The transaction's annotation, or null when absent. Specter has no way to remove one. */
  getTx(txid: string): PyValue {
    return this.file.txs().get(txid) ?? null;
  }

  setTx(txid: string, value: PyValue): void {
    this.file.txs().set(txid, value);
  }

  txs(): PyObject {
    return this.file.txs();
  }

  toValue(): PyObject {
    return this.file.toValue();
  }

  encode(): Buffer {
    return pyDumpFile(this.toValue());
  }
}
