/** Python's number text, from the shared lossless model (see py-json-value.ts). */
export { canonicalNumber, jsNumberText, pyFloatRepr } from '@coffer/protocol';
