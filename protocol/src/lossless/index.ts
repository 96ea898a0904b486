export { canonicalNumber, jsNumberText, pyFloatRepr } from './number.js';
export {
  cloneLossless,
  DEFAULT_MAX_DEPTH,
  FILE_MAX_DEPTH,
  fromPlain,
  isLosslessObject,
  LosslessNumber,
  losslessObject,
  RawJson,
  toPlain,
  type LosslessArray,
  type LosslessObject,
  type LosslessValue,
  type PlainJson,
} from './value.js';
export { LosslessJsonError, parseLossless, parseLosslessBytes, type ParseOptions } from './parse.js';
export { stringifyLossless, type StringifyOptions } from './stringify.js';
export {
  mayLoseInPlainParse,
  PARAM_DATA_MEMBERS,
  plainExceptData,
  RESULT_DATA_MEMBERS,
  type AnswerOf,
  type LosslessParamsOf,
  type LosslessResultOf,
} from './members.js';
