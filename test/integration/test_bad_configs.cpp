// PLACEHOLDER: to be replaced
#include <doctest/doctest.h>
