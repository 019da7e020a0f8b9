#include "harness/cli/cli.h"

int main(int argc, char** argv) {
  return gilrace::cli_main(argc, argv);
}
