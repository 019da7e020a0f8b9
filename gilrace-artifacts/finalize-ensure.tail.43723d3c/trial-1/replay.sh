#!/bin/sh
# crash: SIGSEGV in PyThreadState_New < PyGILState_Ensure < gilrace::FinalizeEnsure::hammer_entry
exec "${GILRACE:-gilrace}" replay finalize-ensure --variant tail --seed 1 --trial 1
