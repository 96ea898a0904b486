/** Python's json.loads over the shared lossless model (see py-json-value.ts for why these aliases). */
export {
  LosslessJsonError as PyJsonError,
  parseLossless as pyLoads,
  parseLosslessBytes as pyLoadsBytes,
  type ParseOptions,
} from '@coffer/protocol';
