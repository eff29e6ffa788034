"""Calling code deep in the interpreter's stack: limits that depend on how much stack the caller
already uses (a recursive parser) would show up here, so tests can show a limit does not."""

import sys


def at_stack_depth(spare: int, call):
    """`call()` with only about `spare` frames left below the interpreter's recursion limit."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1

    def down(n):
        return call() if n <= 0 else down(n - 1)

    return down(sys.getrecursionlimit() - depth - spare)
