// The one thread pool of meProp's native ops (MLP and conv): persistent helpers that the calling thread shares a
// job with. A job is [0, n) cut into chunks of `grain` items handed out by a shared counter; the caller works on
// its job too and returns as soon as every chunk is done, so it never waits for a helper that has not started
// (on a busy machine a woken helper may get a core milliseconds later: the caller then runs that chunk itself).
// After a job that asks for it, helpers poll for the next one about 100 µs before they sleep: a backward's ops
// come back to back, and a sleeping helper costs 30-80 µs to wake.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace meprop {

// The most threads one op call may use: MEPROP_NATIVE_THREADS if set (>= 1; 1 means the calling thread only, at
// most 64), else the hardware's, at most 4.
int MaxThreads();

// True when MEPROP_NATIVE_THREADS is set: the ops then use MaxThreads() whatever the size of their work.
bool ThreadsFixed();

// Runs fn(arg, thread, b, e) once per chunk [b, min(n, b + grain)), b a multiple of grain, on the caller and up to
// threads - 1 helpers; `thread` identifies the runner (0: the caller). Runs every chunk on the caller, in order,
// when threads < 2, inside another job's chunk (nested), inside a SerialScope, or while another thread's job
// holds the pool. Chunks are the unit of work whatever the thread count, so that per-chunk partial results
// (added in chunk order afterwards) are the same bits on any number of threads. `linger`: the helpers poll for the
// next job (about 100 µs) before sleeping after this one, for ops that come back to back (the conv backward's three
// ops); without it they sleep at once, leaving the core to TensorFlow's own threads.
void RunChunks(int64_t n, int64_t grain, int threads, void (*fn)(void*, int, int64_t, int64_t), void* arg,
               bool linger = true);

// True on a thread running a chunk of a job, or inside a SerialScope: RunChunks there runs inline.
bool InJob();

// While one is alive on a thread, RunChunks called from that thread runs inline (the ops' `threads = 1` test
// hook: one thread computes what several would, and the tests compare the bits).
class SerialScope {
 public:
  SerialScope();
  ~SerialScope();
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool outer_;
};

// RunChunks with a callable fn(thread, begin, end).
template <typename Fn>
void ParallelChunks(int64_t n, int threads, Fn&& fn, int64_t grain = 1) {
  using F = std::remove_reference_t<Fn>;
  RunChunks(
      n, std::max<int64_t>(1, grain), threads,
      [](void* p, int t, int64_t b, int64_t e) { (*static_cast<F*>(p))(t, b, e); }, &fn);
}

}  // namespace meprop
