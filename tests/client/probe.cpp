/* probe.cpp: probe.c compiled as C++11, so the tests run the header as C++ too. */
#include "probe.c"
