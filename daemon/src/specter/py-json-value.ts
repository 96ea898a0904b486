/**
 * The specter codec's names for the shared lossless JSON model (@coffer/protocol, lossless/): the
 * model moved there so the daemon, the clients and both layouts hold one model (DESIGN-NOTES
 * "Lossless values"). These aliases keep the specter files, which speak of Python's json, as they were.
 */
export {
  cloneLossless as clonePy,
  DEFAULT_MAX_DEPTH,
  FILE_MAX_DEPTH,
  fromPlain as fromJs,
  isLosslessObject as isPyObject,
  LosslessNumber as PyNum,
  losslessObject as pyObject,
  toPlain as toJs,
  type LosslessArray as PyArray,
  type LosslessObject as PyObject,
  type LosslessValue as PyValue,
  type PlainJson as JsonValue,
} from '@coffer/protocol';
