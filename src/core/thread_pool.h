// A small fixed-size thread pool for data-parallel loops: the ops split their work into
// independent blocks and the pool runs them. The partition of a loop into blocks depends only on
// the block count the caller chooses (never on timing), so results are deterministic for a given
// thread count.
//
// Natively the workers are std::threads. In a build without threads (WebAssembly without
// -pthread, i.e. __EMSCRIPTEN__ without __EMSCRIPTEN_PTHREADS__) the pool has one thread and runs
// every block inline; enabling wasm threads later is only a build flag.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace qm {

class ThreadPool {
 public:
  /// A pool that runs loops on `threads` threads in total (the calling thread included);
  /// 0 means std::thread::hardware_concurrency(). Clamped to 1 where threads are unavailable.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Threads that run blocks (>= 1).
  size_t size() const { return size_; }

  /// Calls fn(i) for every i in [0, n), spread over the threads; returns when all are done.
  /// Blocks must be independent. Not reentrant: fn must not call parallel_for on the same pool
  /// (nested calls run inline). An exception thrown by fn is rethrown here (the first one).
  void parallel_for(size_t n, const std::function<void(size_t)>& fn);

  /// Splits [0, total) into at most size() contiguous ranges of at least `min_chunk` elements
  /// (boundaries multiples of `align` except the last) and calls fn(begin, end) for each.
  void parallel_range(size_t total, size_t min_chunk, size_t align,
                      const std::function<void(size_t, size_t)>& fn);

 private:
  struct State;
  size_t size_ = 1;
  std::unique_ptr<State> state_;
};

}  // namespace qm
