// The shared thread pool of the native ops (see pool.h).
#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace meprop {

namespace {

// A job: chunks of [0, n) handed out by a counter. Held by shared_ptr, so that a helper that wakes after the last
// chunk was taken only finds the counter past n (the caller may have returned by then).
struct Job {
  void (*fn)(void*, int, int64_t, int64_t);
  void* arg;
  int64_t n, grain, chunks;
  bool linger = true;
  std::atomic<int64_t> next{0}, done{0};

  // Takes and runs chunks until none are left.
  void Work(int thread) {
    for (;;) {
      const int64_t b = next.fetch_add(grain, std::memory_order_relaxed);
      if (b >= n) return;
      fn(arg, thread, b, std::min(n, b + grain));
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }
};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long a helper polls for the next job before it sleeps (at most this much idle CPU after each job; 250 µs
// took a core from TensorFlow's own ops between ours in the cnn step, 60-250 µs measured the same on conv-kernels).
constexpr int kHelperSpinMicros = 100;

// True on a thread while it runs a chunk of a job (the caller's or a helper's), or inside a SerialScope: a
// RunChunks there runs inline (the pool runs one job at a time; waiting for it there would deadlock).
thread_local bool inJob = false;

class Pool {
 public:
  static Pool& Get() {
    // Leaked on purpose: joining threads during process exit can deadlock with other static destructors.
    static Pool* pool = new Pool(MaxThreads() - 1);
    return *pool;
  }
  int helpers() const { return static_cast<int>(threads_.size()); }

  // Runs job on the caller and up to `helpers` helpers; false (nothing run) when another thread's job holds the pool.
  bool Run(const std::shared_ptr<Job>& job, int helpers) {
    std::unique_lock<std::mutex> run(runMu_, std::try_to_lock);
    if (!run.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> l(mu_);
      job_ = job;
      wanted_ = helpers;
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    job->Work(0);
    // Only chunks a helper has taken are waited for: a helper that has not started takes none.
    for (int spins = 0; job->done.load(std::memory_order_acquire) < job->chunks; spins++) {
      if (spins < 64)
        CpuRelax();
      else
        std::this_thread::yield();
    }
    std::lock_guard<std::mutex> l(mu_);
    job_.reset();
    return true;
  }

 private:
  explicit Pool(int helpers) {
    for (int i = 0; i < helpers; i++) threads_.emplace_back([this, i] { Loop(i + 1); });
  }

  void Loop(int id) {
    inJob = true;  // a helper's chunks never start a job of their own
    uint64_t seen = 0;
    bool linger = false;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(linger ? kHelperSpinMicros : 0);
      while (linger && gen_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
        for (int i = 0; i < 32; i++) CpuRelax();
      }
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return gen_.load(std::memory_order_relaxed) != seen; });
        seen = gen_.load(std::memory_order_relaxed);
        if (id > wanted_ || !job_) continue;
        job = job_;
      }
      job->Work(id);
      linger = job->linger;
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_, runMu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  int wanted_ = 0;
  std::shared_ptr<Job> job_;
};

int ReadThreads() {
  const char* e = std::getenv("MEPROP_NATIVE_THREADS");
  if (e != nullptr && *e != '\0') {
    const int v = std::atoi(e);
    if (v >= 1) return std::min(v, 64);
  }
  return static_cast<int>(std::max(1u, std::min(std::thread::hardware_concurrency(), 4u)));
}

}  // namespace

int MaxThreads() {
  static const int n = ReadThreads();
  return n;
}

bool ThreadsFixed() {
  static const bool fixed = [] {
    const char* e = std::getenv("MEPROP_NATIVE_THREADS");
    return e != nullptr && *e != '\0' && std::atoi(e) >= 1;
  }();
  return fixed;
}

bool InJob() { return inJob; }

SerialScope::SerialScope() : outer_(inJob) { inJob = true; }
SerialScope::~SerialScope() { inJob = outer_; }

void RunChunks(int64_t n, int64_t grain, int threads, void (*fn)(void*, int, int64_t, int64_t), void* arg, bool linger) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = (n + grain - 1) / grain;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({threads, chunks, MaxThreads()})));
  if (threads > 1 && !inJob) {
    Pool& pool = Pool::Get();
    const int helpers = std::min(threads - 1, pool.helpers());
    if (helpers > 0) {
      auto job = std::make_shared<Job>();
      job->fn = fn;
      job->arg = arg;
      job->n = n;
      job->grain = grain;
      job->chunks = chunks;
      job->linger = linger;
      inJob = true;
      const bool ran = pool.Run(job, helpers);
      inJob = false;
      if (ran) return;
    }
  }
  for (int64_t b = 0; b < n; b += grain) fn(arg, 0, b, std::min(n, b + grain));
}

}  // namespace meprop
