// The offline half of backup/restore, for the coffer CLI (`@coffer/daemon/ops`): no sodium, no server.
export { restoreBackup, RestoreRefused, type RestoreOptions, type RestoreResult } from './restore.js';
