#include <gtest/gtest.h>

#include "prism/core/threads.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  prism::set_threads(prism::available_cores());
  return RUN_ALL_TESTS();
}
