"""Runs the Python client's tests (every ``test_*.py`` here) against the compiled cofferd.

    npm run build && python3 client/python/tests/run.py [--json results.json] [pattern ...]

Prints unittest's usual report on stderr. ``--json`` also writes one record per test
(``{"id", "outcome": "pass"|"fail"|"skip", "details"}``) for the tap runner in
test/python-client.test.ts, which turns them into one tap assertion each. Exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unittest
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent


class RecordingResult(unittest.TextTestResult):
    """unittest's text result, also keeping every test's outcome (a failing subtest fails its test)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: Dict[str, Dict[str, Any]] = {}
        self.started: Dict[str, float] = {}

    def record(self, test: unittest.TestCase, outcome: str, details: str = "") -> None:
        test_id = test.id()
        if isinstance(test, unittest.case._SubTest):  # type: ignore[attr-defined]
            test_id = test.test_case.id()
        entry = self.records.setdefault(test_id, {"id": test_id, "outcome": "pass", "details": ""})
        if outcome != "pass" and entry["outcome"] != "fail":
            entry["outcome"], entry["details"] = outcome, details

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self.started[test.id()] = time.monotonic()

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self.record(test, "pass")
        self.records[test.id()]["seconds"] = round(time.monotonic() - self.started.get(test.id(), 0), 3)

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        # Errors in setUpClass/tearDownClass arrive on a placeholder, not a TestCase.
        self.record(test, "fail", self._exc_info_to_string(err, test)) if isinstance(test, unittest.TestCase) \
            else self.records.setdefault(str(test), {"id": str(test), "outcome": "fail",
                                                     "details": self._exc_info_to_string(err, test)})

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self.record(test, "fail", self._exc_info_to_string(err, test))

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.record(test, "fail", f"{subtest.id()}\n{self._exc_info_to_string(err, test)}")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self.record(test, "skip", reason)

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self.record(test, "fail", "unexpected success")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the Python client's tests.")
    parser.add_argument("--json", help="write per-test results to this file")
    parser.add_argument("patterns", nargs="*", default=["test_*.py"], help="test file patterns")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    suite = unittest.TestSuite()
    for pattern in args.patterns:
        suite.addTests(unittest.defaultTestLoader.discover(str(HERE), pattern=pattern, top_level_dir=str(HERE)))
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=RecordingResult)
    result = runner.run(suite)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "python": sys.version.split()[0],
            "testsRun": result.testsRun,
            "ok": result.wasSuccessful(),
            "tests": list(result.records.values()),  # type: ignore[attr-defined]
        }, indent=1))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
