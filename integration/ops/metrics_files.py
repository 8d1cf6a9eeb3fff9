"""The multiprocess metrics directory: reading it whole, and folding the
files of processes that have exited into one archive per kind.

Why fold: prometheus-client writes one counter file and one histogram file
per process id, and a process that exits leaves its files behind (its counts
must stay in the sums). gunicorn replaces a web worker every couple of
thousand requests, so without folding a busy host collects hundreds of files
a day and every scrape reads them all. gunicorn's master calls
`process_files_fold` for each worker it reaps (deploy/gunicorn.conf.py,
`child_exit`): the worker's values are added into `counter_archive.db` /
`histogram_archive.db` and its files removed.

Why a lock: between adding a dead process's values to the archive and
removing its file, a scrape would count them twice, and the next scrape, a
little lower, would read to Prometheus as a counter reset. So folding holds
an exclusive `flock` on the directory's lock file and a scrape a shared one:
a scrape sees a process's values either in its file or in the archive,
never in both or neither. (flock works across the containers that mount the
same volume: one kernel.)

Imports nothing of Django: gunicorn's master process calls it.
"""

import contextlib
import fcntl
import os

from prometheus_client.mmap_dict import MmapedDict

LOCK_NAME = ".lock"  # not *.db: the collector never reads it
KINDS = ("counter", "histogram")


@contextlib.contextmanager
def directory_lock(directory: str, *, exclusive: bool):
    with open(os.path.join(directory, LOCK_NAME), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def process_files_fold(pid: int, directory: str) -> int:
    """Add an exited process's values into the archive files and remove
    its own; returns how many files were folded. Counters and histogram
    buckets and sums are plain sums, so adding is exact."""
    folded = 0
    with directory_lock(directory, exclusive=True):
        for kind in KINDS:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = MmapedDict(os.path.join(directory, f"{kind}_archive.db"))
            try:
                for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(dead):
                    current, _ = archive.read_value(key)
                    archive.write_value(key, current + value, timestamp)
            finally:
                archive.close()
            os.remove(dead)
            folded += 1
    return folded
