import t from 'tap';
import { vectorSuite } from './helpers/specter-vector-suite.js';
import { vectorsDir } from './helpers/specter.js';

// The vectors folder ($SPECTER_VECTORS_DIR for a held-out set): every file read, every file rebuilt.
vectorSuite(t, vectorsDir);
