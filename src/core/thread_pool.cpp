#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define QM_NO_THREADS 1
#else
#include <condition_variable>
#include <thread>
#include <vector>
#endif

namespace qm {

#ifdef QM_NO_THREADS

struct ThreadPool::State {};

ThreadPool::ThreadPool(size_t) : size_(1) {}
ThreadPool::~ThreadPool() = default;

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  for (size_t i = 0; i < n; ++i) fn(i);
}

#else

// Workers wait for a generation counter to change, then claim block indices from an atomic
// counter; the caller works too and waits until every block is finished.
struct ThreadPool::State {
  std::mutex mu;
  std::condition_variable wake, done;
  std::vector<std::thread> workers;
  const std::function<void(size_t)>* fn = nullptr;
  size_t n = 0;
  std::atomic<size_t> next{0};
  size_t finished = 0;
  size_t generation = 0;
  size_t active = 0;  // workers inside work(); a new loop starts only when none is
  bool stop = false;
  bool busy = false;
  std::exception_ptr error;

  void work() {
    size_t local = 0;
    std::exception_ptr err;
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        (*fn)(i);
      } catch (...) {
        if (!err) err = std::current_exception();
      }
      ++local;
    }
    std::lock_guard<std::mutex> lock(mu);
    finished += local;
    if (err && !error) error = err;
    if (finished == n) done.notify_all();
  }

  void loop() {
    size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
        ++active;
      }
      work();
      std::lock_guard<std::mutex> lock(mu);
      --active;
      done.notify_all();
    }
  }
};

ThreadPool::ThreadPool(size_t threads) : state_(std::make_unique<State>()) {
  if (threads == 0) threads = std::max<unsigned>(1, std::thread::hardware_concurrency());
  size_ = threads;
  for (size_t i = 1; i < size_; ++i) state_->workers.emplace_back([s = state_.get()] { s->loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->wake.notify_all();
  for (std::thread& t : state_->workers) t.join();
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  State& s = *state_;
  bool inline_run = size_ == 1 || n == 1;
  if (!inline_run) {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.busy) inline_run = true;  // nested call: run inline
    else s.busy = true;
  }
  if (inline_run) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.done.wait(lock, [&] { return s.active == 0; });
    s.fn = &fn;
    s.n = n;
    s.next = 0;
    s.finished = 0;
    s.error = nullptr;
    ++s.generation;
  }
  s.wake.notify_all();
  s.work();
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.done.wait(lock, [&] { return s.finished == s.n && s.active == 0; });
    err = s.error;
    s.fn = nullptr;
    s.busy = false;
  }
  if (err) std::rethrow_exception(err);
}

#endif

void ThreadPool::parallel_range(size_t total, size_t min_chunk, size_t align,
                                const std::function<void(size_t, size_t)>& fn) {
  if (total == 0) return;
  if (align == 0) align = 1;
  if (min_chunk == 0) min_chunk = 1;
  size_t parts = std::min(size_, std::max<size_t>(1, total / min_chunk));
  size_t chunk = (total + parts - 1) / parts;
  chunk = (chunk + align - 1) / align * align;
  parts = (total + chunk - 1) / chunk;
  if (parts <= 1) {
    fn(0, total);
    return;
  }
  parallel_for(parts, [&](size_t i) {
    const size_t b = i * chunk, e = std::min(total, b + chunk);
    if (b < e) fn(b, e);
  });
}

}  // namespace qm
