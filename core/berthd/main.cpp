#include "berth/core/daemon.hpp"
#include "builtin_drivers.hpp"

int main(int argc, char** argv) {
  return berth::core::berthd_main(argc, argv, berth::core::builtin_drivers());
}
