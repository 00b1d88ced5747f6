"""Helpers for tests of two people writing at once: each on its own database connection."""

import threading
import time

from django.db import connection, connections


def at_once(*functions, together: bool = True) -> list:
    """Run each function in its own thread, so on its own database connection; released
    together (a barrier) unless `together` is false, when each orders itself (say, waiting
    for an event). Returns what each returned or raised, in order."""
    barrier = threading.Barrier(len(functions))
    outcomes = [None] * len(functions)

    def run(index, function):
        try:
            if together:
                barrier.wait(timeout=10)
            outcomes[index] = function()
        except Exception as error:  # handed back for the test to assert on
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def wait_until_someone_waits_for_a_lock() -> None:
    """Called inside a transaction holding a row lock: returns once another connection is
    blocked on a lock this one holds, so the order of the two writes is certain."""
    with connection.cursor() as cursor:
        for _ in range(200):
            # pg_locks rather than pg_stat_activity, which a transaction sees as a snapshot.
            # Only a wait on this connection's locks: pg_locks is the whole server's, and a
            # wait in another database (another test run on the same server) is not ours.
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the other connection never waited for a lock")
