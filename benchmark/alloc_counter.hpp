//
// alloc_counter.hpp
// ~~~~~~~~~~~~~~~~~
//
// Counts heap allocations made through operator new, so that a benchmark
// can report allocations per operation (the goal: none after warm-up).
// The count comes from the replacements of the global allocation
// functions in alloc_counter.cpp, which every program using this header
// links.
//
#pragma once

#include <cstdint>

namespace bench {

// operator new calls (every form) since the program started, all threads.
std::uint64_t allocation_count() noexcept;

} // namespace bench
