#!/bin/sh
# crash: SIGSEGV in PyThreadState_New < PyGILState_Ensure < gilrace::FinalizeEnsure::after_entry
exec "${GILRACE:-gilrace}" replay finalize-ensure --variant after --seed 1 --trial 1
