import t from 'tap';
import { runPythonGroup } from './helpers/python-suite.js';

// The Python web integrations against a real cofferd: the Flask example and coffer_client.specter
// installed into a stand-in Specter app (a daemon and a Flask process per test). The client's own
// tests run in python-client.test.ts, beside this one (test/helpers/python-suite.ts).
t.setTimeout(300_000);
runPythonGroup(t, 'web', 25);
