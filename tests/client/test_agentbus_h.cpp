/* test_agentbus_h.cpp: test_agentbus_h.c compiled as C++11. */
#include "test_agentbus_h.c"
