// The same layout assertions as abi_layout.c, seen by a C++ compiler.
#include "abi_layout.c"
