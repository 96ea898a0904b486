// `node --import` entry for the test runner (package.json tap.node-arg): see dist-hooks.mjs.
import { register } from 'node:module';

register('./dist-hooks.mjs', import.meta.url);
