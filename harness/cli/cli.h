// The command line: list, info, run, replay (and the hidden __trial that a
// supervisor re-executes itself with). Returns the process's exit code.
#pragma once

#include "harness/base/exit_codes.h"

namespace gilrace {

int cli_main(int argc, char** argv);

}  // namespace gilrace
