"""bench/compare's verdicts on the performance targets, on rows of a made-up run."""
import importlib.machinery
import importlib.util
import os
import unittest

loader = importlib.machinery.SourceFileLoader("compare", os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare"))
compare = importlib.util.module_from_spec(importlib.util.spec_from_loader("compare", loader))
loader.exec_module(compare)


def row(workload, unit, volumed, juicefs=None, fuse_ceiling=None, higher_is_better=True):
    return {"workload": workload, "unit": unit, "higher_is_better": higher_is_better, "volumed": volumed,
            "juicefs": juicefs, "fuse_ceiling": fuse_ceiling, "local": None}


def verdicts(rows):
    return {title: (figures, verdict) for title, figures, verdict in compare.target_checks(rows)}


class TargetChecksTest(unittest.TestCase):
    def test_a_full_run_meeting_every_target_says_so(self):
        rows = [row("sequential write 1024 MiB (fsync)", "MiB/s", 200, 100, 220),
                row("volumed peak RSS during the 1024 MiB write", "MiB", 260, higher_is_better=False),
                row("sequential read (warm)", "MiB/s", 9000, 8000, 9000),
                row("create 10000 × 4 KiB", "files/s", 3000, 500, 4000),
                row("tar x /usr/include", "entries/s", 2000, 300, 2500),
                row("commit after changing 1 of 100000 files", "s", 0.4, higher_is_better=False)]
        self.assertEqual({verdict for _, verdict in verdicts(rows).values()}, {"met"})

    def test_misses_are_named_worst_first_with_their_figures(self):
        rows = [row("create 10000 × 4 KiB", "files/s", 3000, 500, 5000),
                row("delete them all", "files/s", 2000, 1000, 4000),
                row("rename 1000", "files/s", 8000, 1000, 9000),
                row("git clone (local repository)", "files/s", 900, 1000, 1200)]
        checks = verdicts(rows)
        self.assertEqual(checks["metadata-heavy ≥ 70 % of the FUSE ceiling"],
                         ("delete them all 50%; create 10000 × 4 KiB 60%; rename 1000 89%", "**missed** (2 of 3)"))
        self.assertEqual(checks["metadata-heavy ≥ 3× juicefs"][1], "**missed** (1 of 3)")
        self.assertTrue(checks["every workload ≥ 1.0× juicefs"][0].startswith("git clone (local repository) 0.90×"))
        # A time is better when lower: a commit of 1.5 s misses the 1 s bound.
        slow_commit = verdicts([row("commit after changing 1 of 100000 files", "s", 1.5, higher_is_better=False)])
        self.assertEqual(slow_commit["commit of one change in 100k files < 1 s"], ("1.5 s", "**missed**"))

    def test_a_target_whose_workloads_did_not_run_is_not_reported_as_met(self):
        rows = [row("create 2000 × 4 KiB", "files/s", 3000, 500, 4000),
                row("commit after changing 1 of 10000 files", "s", 0.03, higher_is_better=False)]
        checks = verdicts(rows)
        self.assertEqual(checks["commit of one change in 100k files < 1 s"], ("not measured in this run", "—"))
        self.assertEqual(checks["peak RSS under the 1 GiB sequential write < 300 MiB"], ("not measured in this run", "—"))
        self.assertEqual(checks["sequential write and warm read ≥ 80 % of the FUSE ceiling"][1], "—")


if __name__ == "__main__":
    unittest.main()
