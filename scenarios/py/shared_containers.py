# Shared list and dict updated by every worker thread, no lock.
#
#   gilrace run py-script --param script=scenarios/py/shared_containers.py \
#       --param probes=containers_shared --threads 4
#
# Each worker(i) appends to one shared list and stores into one shared dict
# under keys of its own. Every single operation used here (list.append,
# dict.__setitem__ with distinct keys, len) is atomic: on GIL builds because one
# bytecode's C call runs under the GIL, on free-threaded builds because list and
# dict take their per-object lock (see "Thread Safety Guarantees" for built-in
# types in the Python docs). So the totals check() verifies always add up.
#
# Expected outcome: pass on every build (3.11 GIL, 3.13 default and
# free-threaded). A failure here is a real bug in the interpreter.
import _gilrace

items = []
table = {}
calls = [0] * 64  # one counter per worker index: only its own thread writes it


def setup():
    items.clear()
    table.clear()


def worker(i):
    n = calls[i]
    calls[i] = n + 1
    items.append((i, n))
    table[(i, n)] = n
    if n % 50 == 0:
        _gilrace.probe("containers_shared")


def check():
    expected = sum(calls)
    if len(items) != expected or len(table) != expected:
        raise AssertionError(
            f"lost updates: {expected} calls, {len(items)} list items, {len(table)} dict keys")
    _gilrace.note("calls", str(expected))
