// meProp's backward of y = op(a) @ op(b) (a Dense layer's product) as TensorFlow CPU ops:
//   MePropMlpSelectColumns   dy [M, N] -> indices [k] (ascending), values [M, k]: the k columns with the
//                            largest Σ|dy| over the rows (unified mode), NaN first, ties to the lower index.
//   MePropMlpSelect          dy -> indices [M, k], values [M, k]: per row (mode 0, per-example) or the shared
//                            columns repeated on every row (mode 1, unified).
//   MePropMlpUnifiedBackward dy, a, b -> indices [k], dW (slices [k, K] or dense like b), dx or values [M, k].
//   MePropMlpPerExampleBackward dy, a, b -> indices [M, k], dW (like b), dx (with_dx) or values [M, k]: the
//                            per-example selection and products in one call.
//   MePropMlpGatherMatMul    values [M, k], indices [k], b -> dx (shaped like a).
//   MePropMlpSparseGradA     indices [M, k] or [k], values [M, k], b -> dx (shaped like a).
//   MePropMlpSparseGradB     indices, values, a -> dW (shaped like b, attr n: its output-column count).
//   MePropMlpReluGrad        dy, y = relu(x) -> dy * step(x) (tfjs's relu gradient, NaN kept).
// X = op(a) is [M, K] (a is [K, M] when transpose_a), W = op(b) is [K, N] (b is [N, K] when transpose_b).
// Every loop reads and writes memory in address order where it can: W's kept columns are gathered once into
// contiguous rows (WkT [k, K]) so that dx is a sum of contiguous rows; per-example dx runs over W's rows
// (one row of W in cache serves every kept entry), writing dx a column at a time.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "mlp_common.h"

#if defined(__GNUC__) && !defined(__clang__)
// Lanes (below) is returned by value from inline helpers only: the note that such returns change the ABI when
// AVX-512 is off concerns no function visible outside this file.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace meprop {
namespace mlp {
namespace {

// The dense dW of the unified backward kept by its kernel between calls. Its buffer is zero outside the k slices
// written last (`written`: columns of dW [K, N], or rows of dWᵀ [N, K]). When the next call finds that nobody else
// holds a reference to the buffer any more (TF_TensorMaybeMove: the buffer's and its root's reference counts are
// one, and TensorFlow's allocator owns the memory), it zeroes those k slices, writes the new ones and outputs the
// same buffer: O(k·K) writes instead of zero-filling all K·N entries of a fresh allocation. Otherwise (the caller
// kept last call's gradient, or the shape changed) it allocates a fresh output and keeps that one. Our reference
// also keeps TensorFlow from forwarding the buffer into another op's output (forwarding needs a count of one), and
// from letting a variable adopt it (AssignVariableOp copies a shared buffer), so nothing but this kernel writes it.
struct DenseKeep {
  std::mutex mu;           // try-locked: a concurrent call of the same kernel allocates a fresh output instead
  TF_Tensor* t = nullptr;  // our reference, or none
  int64_t d0 = 0, d1 = 0;  // its shape
  bool valid = false;      // zero outside `written` (false while a call is filling it, and after a failed one)
  std::vector<int32_t> written;
  DenseKeep() = default;
  DenseKeep(const DenseKeep&) = delete;
  DenseKeep& operator=(const DenseKeep&) = delete;
  ~DenseKeep() { Drop(); }
  void Drop() {
    if (t) TF_DeleteTensor(t);
    t = nullptr;
    valid = false;
    written.clear();
  }
  bool Reusable(int64_t r, int64_t c) const { return t != nullptr && valid && d0 == r && d1 == c && TF_TensorMaybeMove(t) != nullptr; }
};

// Process-wide counts of the unified backward's dense dW outputs: kept buffers output again, fresh buffers kept
// (read by MePropMlpDenseKeepStats, for tests).
std::atomic<int32_t> gDenseReused{0}, gDenseKept{0};

// The largest dense dW kept (bytes). A kept buffer is written a few entries per row, and pays off while it stays in
// L2 (2 MB per core here) between calls: in the bench (same build, kept or not by a temporary switch, 6
// alternating runs each, 2026-12-03 17:25 UTC, load 3.4-5.0) unified at 32x500 k=20 (dW 1 MB) took 0.31 ms (median)
// kept against 0.34 fresh, 2.65-3.17x against 2.29-2.53x; at 128x1024 k=32 (dW 4 MB, evicted by the other
// work between calls, so each of its k scattered writes per row misses) 4.43x against 4.63x (medians): a fresh
// buffer, the one TensorFlow just freed, is written faster there.
constexpr int64_t kKeepMaxBytes = 2 << 20;

struct Attrs {
  int64_t k = 0;
  int64_t mode = 0;
  int64_t n = 0;
  bool transposeA = false;
  bool transposeB = false;
  bool denseW = false;
  bool withDx = false;
  bool keepDw = true;
  int64_t threads = 0;
  DenseKeep keep;  // the unified backward's kept dense dW
};

// Minimum work (multiply-adds) per thread before the pool is used: below that, waking a helper costs more.
constexpr int64_t kMinWork = 1 << 20;

inline int64_t RowsPerTask(int64_t workPerRow) { return std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, workPerRow)); }

// Lanes of the blocked per-example products: one 512-bit vector of float32.
constexpr int64_t kLanes = 16;

// kLanes float32 as one value (GCC/clang vector extension: one AVX-512 register, or two AVX2 ones, ...).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
// The same, at any float's alignment: loads and stores through it alias float data only (a memcpy would alias
// everything, and make the compiler reload every captured value after each store).
typedef float UnalignedLanes __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float))));
inline Lanes LoadLanes(const float* p) { return *reinterpret_cast<const UnalignedLanes*>(p); }
inline void StoreLanes(float* p, Lanes v) { *reinterpret_cast<UnalignedLanes*>(p) = v; }

// A 16 x 16 tile transposed in registers: four rounds of two-input shuffles (blocks of 1, 2, 4, 8 lanes)
// pairing rows p and p + B; after the last round vector i holds column i. With AVX-512 each shuffle is one
// instruction (vpermt2ps); other targets get what the compiler makes of it.
static_assert(kLanes == 16, "the tile transpose is written for 16 lanes");
#if defined(__clang__)
#define MEPROP_SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
typedef int32_t LaneIndex __attribute__((vector_size(kLanes * sizeof(int32_t))));
#define MEPROP_SHUFFLE(x, y, ...) __builtin_shuffle(x, y, (LaneIndex){__VA_ARGS__})
#endif
#define MEPROP_ROUND(B, ...)                                \
  for (int p = 0; p < 16; p++)                              \
    if ((p / B) % 2 == 0) {                                 \
      const Lanes x = v[p], y = v[p + B];                   \
      v[p] = MEPROP_SHUFFLE(x, y, MEPROP_LO_##B);           \
      v[p + B] = MEPROP_SHUFFLE(x, y, MEPROP_HI_##B);       \
    }
#define MEPROP_LO_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define MEPROP_HI_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define MEPROP_LO_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define MEPROP_HI_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define MEPROP_LO_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define MEPROP_HI_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define MEPROP_LO_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define MEPROP_HI_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31

inline void TransposeTile(const float* src, int64_t lds, float* dst, int64_t ldd) {
  Lanes v[16];
  for (int i = 0; i < 16; i++) v[i] = LoadLanes(src + i * lds);
  MEPROP_ROUND(1)
  MEPROP_ROUND(2)
  MEPROP_ROUND(4)
  MEPROP_ROUND(8)
  for (int i = 0; i < 16; i++) StoreLanes(dst + i * ldd, v[i]);
}

// dst [n, kLanes] = rows [rw, n] transposed (rw <= kLanes; lanes >= rw left as they are).
inline void TransposeBlock(const float* rows, int64_t rw, int64_t n, float* dst) {
  int64_t j0 = 0;
  if (rw == kLanes)
    for (; j0 + kLanes <= n; j0 += kLanes) TransposeTile(rows + j0, n, dst + j0 * kLanes, kLanes);
  for (int64_t r = 0; r < rw; r++)
    for (int64_t j = j0; j < n; j++) dst[j * kLanes + r] = rows[r * n + j];
}

// rows [rw, n] = the first rw lanes of src [n, kLanes] transposed (the inverse of TransposeBlock).
inline void TransposeBack(const float* src, int64_t rw, int64_t n, float* rows) {
  int64_t j0 = 0;
  if (rw == kLanes)
    for (; j0 + kLanes <= n; j0 += kLanes) TransposeTile(src + j0 * kLanes, kLanes, rows + j0, n);
  for (int64_t r = 0; r < rw; r++)
    for (int64_t j = j0; j < n; j++) rows[r * n + j] = src[j * kLanes + r];
}

// out[i] += v * x[i], i < n.
inline void Axpy(float* __restrict out, const float* __restrict x, float v, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) out[i] += v * x[i];
}

// C[i, :] = Σ_p A(i, p) B[p, :] for i < I, p < P, over `cols` columns: A(i, p) = A[i * sai + p * sap], B and
// C row-major with leading dimensions ldb, ldc. Tiles of R rows by Q lane vectors held in registers while p
// runs (in increasing order); the B panel of a column tile stays in cache across the row tiles.
template <int R, int Q>
inline void GemmTile(int64_t P, const float* A, int64_t sai, int64_t sap, const float* B, int64_t ldb, float* C, int64_t ldc) {
  Lanes acc[R][Q] = {};
  for (int64_t p = 0; p < P; p++) {
    Lanes b[Q];
    for (int q = 0; q < Q; q++) b[q] = LoadLanes(B + p * ldb + q * kLanes);
    for (int i = 0; i < R; i++) {
      const float a = A[i * sai + p * sap];
      for (int q = 0; q < Q; q++) acc[i][q] += a * b[q];
    }
  }
  for (int i = 0; i < R; i++)
    for (int q = 0; q < Q; q++) StoreLanes(C + i * ldc + q * kLanes, acc[i][q]);
}

template <int Q>
inline void GemmRows(int64_t I, int64_t P, const float* A, int64_t sai, int64_t sap, const float* B, int64_t ldb, float* C,
                     int64_t ldc) {
  int64_t i = 0;
  for (; i + 4 <= I; i += 4) GemmTile<4, Q>(P, A + i * sai, sai, sap, B, ldb, C + i * ldc, ldc);
  for (; i < I; i++) GemmTile<1, Q>(P, A + i * sai, sai, sap, B, ldb, C + i * ldc, ldc);
}

// SmallGemm's column tile: C's columns [0, cols) run in tiles of kGemmTile, each the same code whatever the
// others, so that a caller may split the columns at multiples of kGemmTile without changing any result bit.
constexpr int64_t kGemmTile = 4 * kLanes;

void SmallGemm(int64_t I, int64_t P, int64_t cols, const float* A, int64_t sai, int64_t sap, const float* B, int64_t ldb,
               float* C, int64_t ldc) {
  constexpr int64_t kTile = kGemmTile;
  const int64_t tiles = (cols + kTile - 1) / kTile;
  // One thread: meProp's products are a few hundred microseconds at most, less than handing half of one to a
  // helper thread costs on a loaded machine (measured: unified 1024² k=32 was slower with two threads).
  for (int64_t tile = 0; tile < tiles; tile++) {
    int64_t c = tile * kTile;
    const int64_t end = std::min(cols, c + kTile);
    if (end - c == kTile) {
      GemmRows<4>(I, P, A, sai, sap, B + c, ldb, C + c, ldc);
      continue;
    }
    for (; c + kLanes <= end; c += kLanes) GemmRows<1>(I, P, A, sai, sap, B + c, ldb, C + c, ldc);
    for (int64_t i = 0; i < I; i++)
      for (int64_t j = c; j < end; j++) {
        float acc = 0;
        for (int64_t p = 0; p < P; p++) acc += A[i * sai + p * sap] * B[p * ldb + j];
        C[i * ldc + j] = acc;
      }
  }
}

// Column sums of |dy| as ranking keys, then the top k (ascending).
void SelectShared(const float* dy, int64_t M, int64_t N, int64_t k, int32_t* idx) {
  std::vector<float> sum(N, 0.0f);
  for (int64_t m = 0; m < M; m++) {
    const float* row = dy + m * N;
    float* s = sum.data();
#pragma omp simd
    for (int64_t j = 0; j < N; j++) s[j] += std::fabs(row[j]);
  }
  std::vector<uint32_t> keys(N);
  for (int64_t j = 0; j < N; j++) keys[j] = RankKey(sum[j]);
  TopKAscending(keys.data(), N, k, idx);
}

// values [M, k] = dy[:, idx].
void GatherColumns(const float* dy, int64_t M, int64_t N, const int32_t* idx, int64_t k, float* values) {
  for (int64_t m = 0; m < M; m++)
    for (int64_t t = 0; t < k; t++) values[m * k + t] = dy[m * N + idx[t]];
}

// WkT[:, r0:r1] from W's rows [r0, r1) (b is W [K, N]).
void GatherWeightRows(const float* b, int64_t K, int64_t N, const int32_t* idx, int64_t k, float* wkT, int64_t r0, int64_t r1) {
  // k scattered loads per row, each from another cache line: requested a few rows ahead, so that they
  // overlap rather than wait one after another (no hardware prefetcher follows k interleaved strides). Rows are
  // taken 16 at a time into a small buffer ([16, k], in L1), so that WkT is written 16 contiguous floats per
  // kept column rather than one float into each of k lines per row (measured: 0.21 -> 0.15 ms at 1024 x 1024,
  // k = 32, W out of cache).
  constexpr int64_t kAhead = 8, kTile = 16;
  thread_local std::vector<float> buf;
  buf.resize(kTile * k);
  for (int64_t r = r0; r < r1; r += kTile) {
    const int64_t rw = std::min(kTile, r1 - r);
    for (int64_t l = 0; l < rw; l++) {
      const float* wr = b + (r + l) * N;
      if (r + l + kAhead < r1)
        for (int64_t t = 0; t < k; t++) __builtin_prefetch(wr + kAhead * N + idx[t]);
      float* o = buf.data() + l * k;
      int64_t t = 0;
#if defined(__AVX512F__)
      for (; t + 16 <= k; t += 16)
        _mm512_storeu_ps(o + t, _mm512_i32gather_ps(_mm512_loadu_si512(idx + t), wr, sizeof(float)));
#endif
      for (; t < k; t++) o[t] = wr[idx[t]];
    }
    int64_t t0 = 0;
    if (rw == kTile)
      for (; t0 + kLanes <= k; t0 += kLanes) TransposeTile(buf.data() + t0, k, wkT + t0 * K + r, K);
    for (int64_t t = t0; t < k; t++)
      for (int64_t l = 0; l < rw; l++) wkT[t * K + r + l] = buf[l * k + t];
  }
}

// WkT [k, K]: row t is column idx[t] of W = op(b).
void GatherWeightColumns(const float* b, int64_t K, int64_t N, bool transposeB, const int32_t* idx, int64_t k, float* wkT) {
  if (transposeB) {
    for (int64_t t = 0; t < k; t++) std::memcpy(wkT + t * K, b + idx[t] * K, K * sizeof(float));
    return;
  }
  // Reading k columns touches most cache lines of W: memory-bound, so split over the threads by rows of W.
  ParallelRange(K, RowsPerTask(N), [&](int64_t r0, int64_t r1) { GatherWeightRows(b, K, N, idx, k, wkT, r0, r1); });
}

// dx from dyk [M, k] and WkT [k, K]: dx [M, K] = dyk @ WkT, or dxᵀ [K, M] when transposeA.
void DxFromKept(const float* dyk, const float* wkT, int64_t M, int64_t K, int64_t k, bool transposeA, float* dx) {
  if (!transposeA) {
    SmallGemm(M, k, K, dyk, k, 1, wkT, K, dx, K);
    return;
  }
  std::vector<float> dykT(k * M);
  for (int64_t m = 0; m < M; m++)
    for (int64_t t = 0; t < k; t++) dykT[t * M + m] = dyk[m * k + t];
  // dxᵀ[r, m] = Σ_t WkT[t, r] dykᵀ[t, m].
  SmallGemm(K, k, M, wkT, 1, K, dykT.data(), M, dx, M);
}

// The k slices as rows [k, K] = dykᵀ @ X, X = op(a).
void SlicesFromKept(const float* dyk, const float* a, int64_t M, int64_t K, int64_t k, bool transposeA, float* rows) {
  if (!transposeA) {
    SmallGemm(k, M, K, dyk, 1, k, a, K, rows, K);
    return;
  }
  // a is [K, M]: the slices as columns [K, k] = a @ dyk, then transposed.
  std::vector<float> cols(K * k);
  SmallGemm(K, M, k, a, M, 1, dyk, k, cols.data(), k);
  for (int64_t r = 0; r < K; r++)
    for (int64_t t = 0; t < k; t++) rows[t * K + r] = cols[r * k + t];
}

// Checks a and b against dy [M, N] for y = op(a) @ op(b); sets K.
bool CheckOperands(Call& call, const OwnedTensor* a, const OwnedTensor* b, int64_t M, int64_t N, const Attrs& at, int64_t* K) {
  if (a != nullptr) {
    int64_t am = at.transposeA ? a->dim(1) : a->dim(0);
    *K = at.transposeA ? a->dim(0) : a->dim(1);
    if (am != M)
      return call.Error("a " + a->shape() + (at.transposeA ? " (transposed)" : "") + " does not match dy's " +
                        std::to_string(M) + " rows");
  }
  if (b != nullptr) {
    int64_t bk = at.transposeB ? b->dim(1) : b->dim(0);
    int64_t bn = at.transposeB ? b->dim(0) : b->dim(1);
    if (a == nullptr) *K = bk;
    if (bk != *K || (N >= 0 && bn != N))
      return call.Error("b " + b->shape() + (at.transposeB ? " (transposed)" : "") + " does not match K = " +
                        std::to_string(*K) + (N >= 0 ? ", N = " + std::to_string(N) : ""));
  }
  return true;
}

bool CheckK(Call& call, int64_t k, int64_t N) {
  return call.Check(k >= 1 && k <= N, "k must be in [1, " + std::to_string(N) + "] (the columns of dy), got " + std::to_string(k));
}

bool CheckIndices(Call& call, const int32_t* idx, int64_t count, int64_t N) {
  for (int64_t i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= N)
      return call.Error("indices[" + std::to_string(i) + "] = " + std::to_string(idx[i]) + " is outside [0, " +
                        std::to_string(N) + ")");
  return true;
}

// Per-example selection: row m keeps the k columns of the largest |dy[m, :]| (NaN first, ties to the lower
// index), ix [M, k] ascending per row, v [M, k] = dy there.
void SelectPerRow(const float* d, int64_t M, int64_t N, int64_t k, int32_t* ix, float* v) {
  // About 3-4 cycles per key with the threshold pass: split when rows of 1024 keys are at least 128 (a helper
  // costs 30-80 us to wake on a loaded machine; below that the rows run here).
  ParallelRange(M, RowsPerTask(N * 16), [&](int64_t m0, int64_t m1) {
    std::vector<uint32_t> keys(N);
    for (int64_t m = m0; m < m1; m++) {
      const float* row = d + m * N;
      for (int64_t j = 0; j < N; j++) keys[j] = RankKey(std::fabs(row[j]));
      TopKAscending(keys.data(), N, k, ix + m * k);
      for (int64_t t = 0; t < k; t++) v[m * k + t] = row[ix[m * k + t]];
    }
  });
}

// ---- MePropMlpSelectColumns
void SelectColumnsCompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpSelectColumns");
  OwnedTensor dy, idx, values;
  if (!call.Input(0, "dy", TF_FLOAT, 2, dy)) return;
  int64_t M = dy.dim(0), N = dy.dim(1);
  if (!CheckK(call, at.k, N)) return;
  if (!call.Output(0, TF_INT32, {at.k}, idx) || !call.Output(1, TF_FLOAT, {M, at.k}, values)) return;
  SelectShared(dy.data<float>(), M, N, at.k, idx.data<int32_t>());
  GatherColumns(dy.data<float>(), M, N, idx.data<int32_t>(), at.k, values.data<float>());
}

// ---- MePropMlpSelect
void SelectCompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpSelect");
  OwnedTensor dy, idx, values;
  if (!call.Input(0, "dy", TF_FLOAT, 2, dy)) return;
  int64_t M = dy.dim(0), N = dy.dim(1), k = at.k;
  if (!CheckK(call, k, N)) return;
  if (!call.Check(at.mode == 0 || at.mode == 1, "mode must be 0 (per-example) or 1 (unified), got " + std::to_string(at.mode)))
    return;
  if (!call.Output(0, TF_INT32, {M, k}, idx) || !call.Output(1, TF_FLOAT, {M, k}, values)) return;
  const float* d = dy.data<float>();
  int32_t* ix = idx.data<int32_t>();
  float* v = values.data<float>();
  if (at.mode == 1) {
    std::vector<int32_t> shared(k);
    SelectShared(d, M, N, k, shared.data());
    for (int64_t m = 0; m < M; m++) std::memcpy(ix + m * k, shared.data(), k * sizeof(int32_t));
    for (int64_t m = 0; m < M; m++)
      for (int64_t t = 0; t < k; t++) v[m * k + t] = d[m * N + ix[m * k + t]];
  } else {
    SelectPerRow(d, M, N, k, ix, v);
  }
}

// Rows [r0, r1) of the dense dW [K, N]: zeros and the k kept columns, rows[t * K + r] at column idx[t]. Row by
// row, so that the k writes land in the row just zeroed (in L1), not in memory again. Plain stores: the output's
// buffer is usually one TensorFlow just freed, still in cache, and the dense gradient's consumer (an optimizer)
// reads it next. (Streaming stores measured slower in the bench at 128x1024: 1.24-1.33 ms against 0.94-1.00 ms.)
void FillDenseRows(float* out, int64_t N, const int32_t* idx, int64_t k, const float* rows, int64_t K, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    float* o = out + r * N;
    std::memset(o, 0, N * sizeof(float));
    for (int64_t t = 0; t < k; t++) o[idx[t]] = rows[t * K + r];
  }
}

// The same rows of a kept dW (DenseKeep) that is zero outside the `stale` columns: those zeroed, then the k kept
// columns written. Row by row, so that both touch the row's lines once.
void RefillDenseRows(float* out, int64_t N, const int32_t* stale, int64_t nStale, const int32_t* idx, int64_t k, const float* rows,
                     int64_t K, int64_t r0, int64_t r1) {
  // The kept buffer may be out of L1/L2 (other work ran since the last call): its stores may miss. The lines of the
  // row 16 rows ahead are requested for writing first, so that the misses overlap instead of filling the store
  // buffer (measured on the op alone at 128x1024 k=32, before kKeepMaxBytes, 400 interleaved reps, 2 runs each:
  // kept/fresh 0.94-1.03 without prefetch, 0.83-0.98 four rows ahead, 0.86-0.93 sixteen rows ahead).
  constexpr int64_t kAhead = 16;
  for (int64_t r = r0; r < r1; r++) {
    float* o = out + r * N;
    if (r + kAhead < r1) {
      float* p = o + kAhead * N;
      for (int64_t t = 0; t < nStale; t++) __builtin_prefetch(p + stale[t], 1);
      for (int64_t t = 0; t < k; t++) __builtin_prefetch(p + idx[t], 1);
    }
    for (int64_t t = 0; t < nStale; t++) o[stale[t]] = 0.0f;
    for (int64_t t = 0; t < k; t++) o[idx[t]] = rows[t * K + r];
  }
}

// The entries of `before` (ascending) that are not in `now` (ascending): the slices a kept dW must clear.
std::vector<int32_t> StaleSlices(const std::vector<int32_t>& before, const int32_t* now, int64_t k) {
  std::vector<int32_t> out;
  out.reserve(before.size());
  int64_t j = 0;
  for (int32_t v : before) {
    while (j < k && now[j] < v) j++;
    if (j == k || now[j] != v) out.push_back(v);
  }
  return out;
}

// Where a call writes the dense dW: a fresh buffer (every entry written) or the kept one.
struct DenseTarget {
  float* out = nullptr;
  bool reuse = false;  // the kept buffer: only `stale` and the new slices are written
  const int32_t* stale = nullptr;
  int64_t nStale = 0;
  // Rows [r0, r1) of dW [K, N] from the slices rows [k, K].
  void Rows(int64_t N, const int32_t* idx, int64_t k, const float* rows, int64_t K, int64_t r0, int64_t r1) const {
    if (!reuse)
      FillDenseRows(out, N, idx, k, rows, K, r0, r1);
    else
      RefillDenseRows(out, N, stale, nStale, idx, k, rows, K, r0, r1);
  }
  // All of dW [K, N] (split over the threads when it is a full fill: memory-bound).
  void All(int64_t N, const int32_t* idx, int64_t k, const float* rows, int64_t K) const {
    ParallelRange(K, RowsPerTask(reuse ? 2 * k : N), [&](int64_t r0, int64_t r1) { Rows(N, idx, k, rows, K, r0, r1); });
  }
  // dWᵀ [N, K] from the slices rows [k, K]: k contiguous rows.
  void Transposed(int64_t N, const int32_t* idx, int64_t k, const float* rows, int64_t K) const {
    if (!reuse)
      std::memset(out, 0, N * K * sizeof(float));
    else
      for (int64_t t = 0; t < nStale; t++) std::memset(out + stale[t] * K, 0, K * sizeof(float));
    for (int64_t t = 0; t < k; t++) std::memcpy(out + idx[t] * K, rows + t * K, K * sizeof(float));
  }
};

// ---- MePropMlpUnifiedBackward
// After the selection, dW (from dy's kept columns and X) and dx (from the same columns and W's) are each a few
// hundred microseconds of one thread at 128 x 1024 @ 1024 x 1024, so above kMinSplitWork multiply-adds per
// product they run on the pool's threads at once (split along K, or as two parts for transposed layouts), each
// share with the one-thread code, so that the results are the same bit for bit. Attr `threads` (a test hook):
// 0 chooses by size, 1 runs on one thread (the pool may still split a big dense fill or gather by rows), >= 2
// splits whenever the pool has a helper.
constexpr int64_t kMinSplitWork = 2 * kMinWork;

void UnifiedBackwardCompute(void* state, TF_OpKernelContext* ctx) {
  Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpUnifiedBackward");
  OwnedTensor dy, a, b, idx, dW, third;
  if (!call.Input(0, "dy", TF_FLOAT, 2, dy) || !call.Input(1, "a", TF_FLOAT, 2, a) || !call.Input(2, "b", TF_FLOAT, 2, b)) return;
  int64_t M = dy.dim(0), N = dy.dim(1), K = 0, k = at.k;
  if (!CheckK(call, k, N) || !CheckOperands(call, &a, &b, M, N, at, &K)) return;
  if (!call.Check(at.threads >= 0, "attr threads must be >= 0 (0: by size), got " + std::to_string(at.threads))) return;
  // Every output is allocated before the parts run (TensorFlow's context is used from this thread only).
  if (!call.Output(0, TF_INT32, {k}, idx)) return;
  DenseTarget dense;
  std::unique_lock<std::mutex> keepLock;
  if (!at.denseW) {
    if (!call.Output(1, TF_FLOAT, {k, K}, dW)) return;
  } else {
    const int64_t d0 = at.transposeB ? N : K, d1 = at.transposeB ? K : N;
    DenseKeep& keep = at.keep;
    if (at.keepDw && d0 * d1 * static_cast<int64_t>(sizeof(float)) <= kKeepMaxBytes)
      keepLock = std::unique_lock<std::mutex>(keep.mu, std::try_to_lock);
    if (keepLock.owns_lock() && keep.Reusable(d0, d1)) {
      OwnedStatus st;
      TF_SetOutput(ctx, 1, keep.t, st.s);
      if (!st.ok()) return (void)call.Error(std::string("cannot output the kept dW: ") + TF_Message(st.s));
      dense.out = static_cast<float*>(TF_TensorData(keep.t));
      dense.reuse = true;
      gDenseReused++;
    } else {
      if (!call.Output(1, TF_FLOAT, {d0, d1}, dW)) return;
      dense.out = dW.data<float>();
      if (keepLock.owns_lock()) {
        keep.Drop();  // our reference to the old buffer (whoever still holds it keeps it alive)
        keep.t = dW.t;
        dW.t = nullptr;
        keep.d0 = d0;
        keep.d1 = d1;
        gDenseKept++;
      }
    }
    // Not reusable until this call has written it completely (an early return below leaves it invalid).
    if (keepLock.owns_lock()) keep.valid = false;
  }
  // Output 2: dx (shaped like a) or the kept values [M, k].
  const int64_t rows2 = at.withDx && at.transposeA ? K : M, cols2 = !at.withDx ? k : at.transposeA ? M : K;
  if (!call.Output(2, TF_FLOAT, {rows2, cols2}, third)) return;
  int32_t* ix = idx.data<int32_t>();
  SelectShared(dy.data<float>(), M, N, k, ix);
  // A kept dW: only the slices written last time and not kept now need zeros (both lists ascending).
  std::vector<int32_t> stale;
  if (dense.reuse) {
    stale = StaleSlices(at.keep.written, ix, k);
    dense.stale = stale.data();
    dense.nStale = static_cast<int64_t>(stale.size());
  }

  std::vector<float> dykScratch;
  float* dyk;
  if (at.withDx) {
    dykScratch.resize(M * k);
    dyk = dykScratch.data();
  } else {
    dyk = third.data<float>();
  }
  GatherColumns(dy.data<float>(), M, N, ix, k, dyk);

  auto dwPart = [&] {
    if (!at.denseW) {
      SlicesFromKept(dyk, a.data<float>(), M, K, k, at.transposeA, dW.data<float>());
      return;
    }
    std::vector<float> rows(k * K);
    SlicesFromKept(dyk, a.data<float>(), M, K, k, at.transposeA, rows.data());
    if (at.transposeB)
      dense.Transposed(N, ix, k, rows.data(), K);
    else
      dense.All(N, ix, k, rows.data(), K);
  };
  // Once dW is complete: a kept buffer is zero outside this call's k slices.
  auto denseDone = [&] {
    if (!keepLock.owns_lock() || at.keep.t == nullptr) return;
    at.keep.written.assign(ix, ix + k);
    at.keep.valid = true;
  };
  auto dxPart = [&] {
    std::vector<float> wkT(k * K);
    GatherWeightColumns(b.data<float>(), K, N, at.transposeB, ix, k, wkT.data());
    DxFromKept(dyk, wkT.data(), M, K, k, at.transposeA, third.data<float>());
  };
  // By size, and only with a dense dW: with dW as slices (what the lazy optimizers take) the split measured slower
  // at 128x1024 k=32 (4.32-4.69x against 4.71-5.18x on one thread, 2026-12-03): the gather of W's columns is
  // memory-bound and waking the helper costs 30-80 us. Measured again on the shared pool (pool.h, 13:48 UTC): still
  // slower split (median 0.86 ms against 0.65 ms in the bench, 6 alternating runs each).
  const bool together = at.threads == 0 ? at.denseW && M * k * K >= kMinSplitWork : at.threads >= 2;
  if (!together) {
    dwPart();
    if (at.denseW) denseDone();
    if (at.withDx) dxPart();
    return;
  }
  if (!at.transposeA && !at.transposeB) {
    // A Dense layer's layout: every step splits along K (X's and W's rows, the columns of dx and of the slices,
    // dW's rows), so the threads get equal shares whether dW is dense or slices. The split falls on SmallGemm's
    // column tiles, and each share runs the one-thread code on its columns.
    std::vector<float> rowsScratch(at.denseW ? k * K : 0), wkT(at.withDx ? k * K : 0);
    float* rows = at.denseW ? rowsScratch.data() : dW.data<float>();
    const float* x = a.data<float>();
    const float* w = b.data<float>();
    float* dx = third.data<float>();  // the kept values when !withDx: not written here
    ParallelRange((K + kGemmTile - 1) / kGemmTile, 1, [&](int64_t t0, int64_t t1) {
      const int64_t c0 = t0 * kGemmTile, c1 = std::min(K, t1 * kGemmTile);
      SmallGemm(k, M, c1 - c0, dyk, 1, k, x + c0, K, rows + c0, K);
      if (at.denseW) dense.Rows(N, ix, k, rows, K, c0, c1);
      if (!at.withDx) return;
      GatherWeightRows(w, K, N, ix, k, wkT.data(), c0, c1);
      SmallGemm(M, k, c1 - c0, dyk, k, 1, wkT.data() + c0, K, dx + c0, K);
    });
    if (at.denseW) denseDone();
    return;
  }
  if (!at.withDx) {
    dwPart();
    if (at.denseW) denseDone();
    return;
  }
  // Transposed layouts: dW and dx as two parts. Part 0 (dx: the gather of W's columns makes it the longer one
  // with dW as slices) on this thread, part 1 on a helper; without helpers (MEPROP_NATIVE_THREADS=1) both run
  // here in turn.
  ParallelRange(2, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
      if (p == 0)
        dxPart();
      else
        dwPart();
    }
  });
  if (at.denseW) denseDone();
}

// ---- MePropMlpGatherMatMul
void GatherMatMulCompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpGatherMatMul");
  OwnedTensor values, indices, b, dx;
  if (!call.Input(0, "values", TF_FLOAT, 2, values) || !call.Input(1, "indices", TF_INT32, 1, indices) ||
      !call.Input(2, "b", TF_FLOAT, 2, b))
    return;
  int64_t M = values.dim(0), k = values.dim(1), K = 0;
  if (!call.Check(indices.dim(0) == k, "indices " + indices.shape() + " do not match values " + values.shape())) return;
  if (!CheckOperands(call, nullptr, &b, M, -1, at, &K)) return;
  int64_t N = at.transposeB ? b.dim(0) : b.dim(1);
  if (!CheckIndices(call, indices.data<int32_t>(), k, N)) return;
  std::vector<float> wkT(k * K);
  GatherWeightColumns(b.data<float>(), K, N, at.transposeB, indices.data<int32_t>(), k, wkT.data());
  if (!call.Output(0, TF_FLOAT, {at.transposeA ? K : M, at.transposeA ? M : K}, dx)) return;
  DxFromKept(values.data<float>(), wkT.data(), M, K, k, at.transposeA, dx.data<float>());
}

// Reads indices [M, k] or [k] (shared) and values [M, k]; on success `shared` tells which.
bool SparseInputs(Call& call, OwnedTensor& indices, OwnedTensor& values, bool* shared) {
  if (!call.Input(0, "indices", TF_INT32, -1, indices) || !call.Input(1, "values", TF_FLOAT, 2, values)) return false;
  *shared = indices.rank() == 1;
  bool ok = *shared ? indices.dim(0) == values.dim(1)
                    : indices.rank() == 2 && indices.dim(0) == values.dim(0) && indices.dim(1) == values.dim(1);
  return call.Check(ok, "indices " + indices.shape() + " must be [M, k] or [k] for values " + values.shape());
}

// The kept entries of a sparse dy: row m keeps columns ix[m * rowStride + t] (rowStride 0: the same k columns
// on every row) with values v[m * k + t], t < k.
struct KeptEntries {
  const int32_t* ix;
  int64_t rowStride;
  const float* v;
  int64_t M, k;
};

// dx (shaped like a: [M, K], or [K, M] when transposeA) = S @ Wᵀ for the sparse dy S and W = op(b) [K, N].
void SparseDx(const KeptEntries& e, const float* w, int64_t K, int64_t N, bool transposeA, bool transposeB, float* out) {
  const int64_t M = e.M, k = e.k, rowStride = e.rowStride;
  const int32_t* ix = e.ix;
  const float* v = e.v;
  if (transposeB) {
    // b is [N, K]: dx[m, :] = Σ_t v[m, t] b[idx[m, t], :], contiguous rows.
    std::vector<float> tmp;
    float* d = out;
    if (transposeA) {
      tmp.resize(M * K);
      d = tmp.data();
    }
    ParallelRange(M, RowsPerTask(k * K), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) {
        float* o = d + m * K;
        std::memset(o, 0, K * sizeof(float));
        for (int64_t t = 0; t < k; t++) Axpy(o, w + ix[m * rowStride + t] * K, v[m * k + t], K);
      }
    });
    if (transposeA)
      for (int64_t m = 0; m < M; m++)
        for (int64_t r = 0; r < K; r++) out[r * M + m] = d[m * K + r];
    return;
  }
  // b is W [K, N]: blocks of kLanes rows of W, transposed once into [N, kLanes] (in cache), so that each kept
  // entry (m, t) adds one lane vector: dx[m, r0:r0+kLanes] += v[m, t] W[r0:r0+kLanes, idx[m, t]].
  const int64_t blocks = (K + kLanes - 1) / kLanes;
  ParallelRange(blocks, RowsPerTask(M * k * kLanes), [&](int64_t b0, int64_t b1) {
    std::vector<float> blk(N * kLanes, 0.0f);
    for (int64_t bi = b0; bi < b1; bi++) {
      const int64_t r0 = bi * kLanes, rw = std::min<int64_t>(kLanes, K - r0);
      TransposeBlock(w + r0 * N, rw, N, blk.data());
      const float* bk = blk.data();
      auto store = [&](int64_t m, Lanes acc) {
        if (!transposeA && rw == kLanes) {
          StoreLanes(out + m * K + r0, acc);  // one vector store (a variable-length memcpy here is a libc call)
          return;
        }
        alignas(64) float res[kLanes];
        std::memcpy(res, &acc, sizeof(res));
        if (transposeA)
          for (int64_t l = 0; l < rw; l++) out[(r0 + l) * M + m] = res[l];
        else
          std::memcpy(out + m * K + r0, res, rw * sizeof(float));
      };
      int64_t m = 0;
      // Four rows at once: four independent sums (each still over t in order, so the same bits as one row at a
      // time), so that the adds do not wait on one another.
      for (; m + 4 <= M; m += 4) {
        const int32_t *i0 = ix + m * rowStride, *i1 = i0 + rowStride, *i2 = i1 + rowStride, *i3 = i2 + rowStride;
        const float* v0 = v + m * k;
        Lanes a0 = {}, a1 = {}, a2 = {}, a3 = {};
        for (int64_t t = 0; t < k; t++) {
          a0 += v0[t] * LoadLanes(bk + i0[t] * kLanes);
          a1 += v0[k + t] * LoadLanes(bk + i1[t] * kLanes);
          a2 += v0[2 * k + t] * LoadLanes(bk + i2[t] * kLanes);
          a3 += v0[3 * k + t] * LoadLanes(bk + i3[t] * kLanes);
        }
        store(m, a0);
        store(m + 1, a1);
        store(m + 2, a2);
        store(m + 3, a3);
      }
      for (; m < M; m++) {
        const int32_t* im = ix + m * rowStride;
        const float* vm = v + m * k;
        Lanes acc = {};
        for (int64_t t = 0; t < k; t++) acc += vm[t] * LoadLanes(bk + im[t] * kLanes);
        store(m, acc);
      }
    }
  });
}

// dW (shaped like b: [K, N], or [N, K] when transposeB) = Xᵀ @ S for X = op(a) [M, K] and the sparse dy S.
void SparseDw(const KeptEntries& e, const float* x, int64_t K, int64_t N, bool transposeA, bool transposeB, float* out) {
  const int64_t M = e.M, k = e.k, rowStride = e.rowStride;
  const int32_t* ix = e.ix;
  const float* v = e.v;
  if (transposeB) {
    // dWᵀ [N, K]: row idx[m, t] += v[m, t] X[m, :]. X's rows are contiguous unless a is stored transposed.
    std::memset(out, 0, N * K * sizeof(float));
    std::vector<float> xs;
    if (transposeA) {
      xs.resize(M * K);
      for (int64_t r = 0; r < K; r++)
        for (int64_t m = 0; m < M; m++) xs[m * K + r] = x[r * M + m];
      x = xs.data();
    }
    // Threads split dW's columns (each writes its own part of every row).
    ParallelRange(K, RowsPerTask(M * k), [&](int64_t c0, int64_t c1) {
      for (int64_t m = 0; m < M; m++)
        for (int64_t t = 0; t < k; t++) Axpy(out + ix[m * rowStride + t] * K + c0, x + m * K + c0, v[m * k + t], c1 - c0);
    });
    return;
  }
  // dW [K, N] in blocks of kLanes rows. The kept entries are sorted by column first (a counting sort, stable in
  // m), so that column j of a block is one sum of lane vectors X[m, r0:r0+kLanes] v[m, t] over its entries,
  // kept in a register and stored once into the block ([N, kLanes], transposed), which is then written back.
  std::vector<int32_t> start(N + 1, 0), em(M * k);
  std::vector<float> ev(M * k);
  for (int64_t m = 0; m < M; m++)
    for (int64_t t = 0; t < k; t++) start[ix[m * rowStride + t] + 1]++;
  for (int64_t j = 0; j < N; j++) start[j + 1] += start[j];
  {
    std::vector<int32_t> cursor(start.begin(), start.end() - 1);
    for (int64_t m = 0; m < M; m++)
      for (int64_t t = 0; t < k; t++) {
        const int32_t c = cursor[ix[m * rowStride + t]]++;
        em[c] = static_cast<int32_t>(m);
        ev[c] = v[m * k + t];
      }
  }
  const int64_t blocks = (K + kLanes - 1) / kLanes;
  ParallelRange(blocks, RowsPerTask(M * k * kLanes), [&](int64_t b0, int64_t b1) {
    std::vector<float> blk(N * kLanes), xblk(M * kLanes, 0.0f);
    for (int64_t bi = b0; bi < b1; bi++) {
      const int64_t r0 = bi * kLanes, rw = std::min<int64_t>(kLanes, K - r0);
      if (!transposeA && rw == kLanes)
        for (int64_t m = 0; m < M; m++) StoreLanes(xblk.data() + m * kLanes, LoadLanes(x + m * K + r0));
      else
        for (int64_t m = 0; m < M; m++)
          for (int64_t l = 0; l < rw; l++) xblk[m * kLanes + l] = transposeA ? x[(r0 + l) * M + m] : x[m * K + r0 + l];
      const int32_t* st = start.data();
      for (int64_t j = 0; j < N; j++) {
        Lanes acc = {};
        for (int32_t c = st[j]; c < st[j + 1]; c++) acc += ev[c] * LoadLanes(xblk.data() + em[c] * kLanes);
        StoreLanes(blk.data() + j * kLanes, acc);
      }
      TransposeBack(blk.data(), rw, N, out + r0 * N);
    }
  });
}

// ---- MePropMlpSparseGradA: dX = S @ Wᵀ for the sparse dy S (row m keeps columns idx[m, :]).
void SparseGradACompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpSparseGradA");
  OwnedTensor indices, values, b, dx;
  bool shared = false;
  if (!SparseInputs(call, indices, values, &shared) || !call.Input(2, "b", TF_FLOAT, 2, b)) return;
  int64_t M = values.dim(0), k = values.dim(1), K = 0;
  if (!CheckOperands(call, nullptr, &b, M, -1, at, &K)) return;
  int64_t N = at.transposeB ? b.dim(0) : b.dim(1);
  const int32_t* ix = indices.data<int32_t>();
  if (!CheckIndices(call, ix, shared ? k : M * k, N)) return;
  if (!call.Output(0, TF_FLOAT, {at.transposeA ? K : M, at.transposeA ? M : K}, dx)) return;
  const KeptEntries e{ix, shared ? 0 : k, values.data<float>(), M, k};
  SparseDx(e, b.data<float>(), K, N, at.transposeA, at.transposeB, dx.data<float>());
}

// ---- MePropMlpSparseGradB: dW = Xᵀ @ S (shaped like b).
void SparseGradBCompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpSparseGradB");
  OwnedTensor indices, values, a, dW;
  bool shared = false;
  if (!SparseInputs(call, indices, values, &shared) || !call.Input(2, "a", TF_FLOAT, 2, a)) return;
  int64_t M = values.dim(0), k = values.dim(1), N = at.n, K = 0;
  if (!call.Check(N >= 1, "attr n (dy's columns) must be >= 1, got " + std::to_string(N))) return;
  if (!CheckOperands(call, &a, nullptr, M, N, at, &K)) return;
  const int32_t* ix = indices.data<int32_t>();
  if (!CheckIndices(call, ix, shared ? k : M * k, N)) return;
  if (!call.Output(0, TF_FLOAT, {at.transposeB ? N : K, at.transposeB ? K : N}, dW)) return;
  const KeptEntries e{ix, shared ? 0 : k, values.data<float>(), M, k};
  SparseDw(e, a.data<float>(), K, N, at.transposeA, at.transposeB, dW.data<float>());
}

// ---- MePropMlpPerExampleBackward: per-example selection, dW, and dx (with_dx) or the kept values for a later
// dx (MePropMlpSparseGradA), in one call.
void PerExampleBackwardCompute(void* state, TF_OpKernelContext* ctx) {
  const Attrs& at = *static_cast<Attrs*>(state);
  Call call(ctx, "MePropMlpPerExampleBackward");
  OwnedTensor dy, a, b, idx, dW, third;
  if (!call.Input(0, "dy", TF_FLOAT, 2, dy) || !call.Input(1, "a", TF_FLOAT, 2, a) || !call.Input(2, "b", TF_FLOAT, 2, b)) return;
  int64_t M = dy.dim(0), N = dy.dim(1), K = 0, k = at.k;
  if (!CheckK(call, k, N) || !CheckOperands(call, &a, &b, M, N, at, &K)) return;
  if (!call.Check(at.threads >= 0, "attr threads must be >= 0 (0: by size), got " + std::to_string(at.threads))) return;
  // Attr `threads` (a test hook): 1 runs every part on this thread; otherwise the selection (by rows) and the
  // products (by blocks of W's rows) split over the pool by size. Each row and block is the same code either way.
  std::unique_ptr<SerialScope> serial(at.threads == 1 ? new SerialScope() : nullptr);
  if (!call.Output(0, TF_INT32, {M, k}, idx)) return;
  std::vector<float> valuesScratch;
  float* values;
  if (at.withDx) {
    valuesScratch.resize(M * k);
    values = valuesScratch.data();
  } else {
    if (!call.Output(2, TF_FLOAT, {M, k}, third)) return;
    values = third.data<float>();
  }
  SelectPerRow(dy.data<float>(), M, N, k, idx.data<int32_t>(), values);
  const KeptEntries e{idx.data<int32_t>(), k, values, M, k};
  if (!call.Output(1, TF_FLOAT, {at.transposeB ? N : K, at.transposeB ? K : N}, dW)) return;
  SparseDw(e, a.data<float>(), K, N, at.transposeA, at.transposeB, dW.data<float>());
  if (at.withDx) {
    if (!call.Output(2, TF_FLOAT, {at.transposeA ? K : M, at.transposeA ? M : K}, third)) return;
    SparseDx(e, b.data<float>(), K, N, at.transposeA, at.transposeB, third.data<float>());
  }
}

// ---- MePropMlpReluGrad: dy * step(x) from y = relu(x): step is 1 where y > 0, NaN where y is NaN, else 0.
void ReluGradCompute(void*, TF_OpKernelContext* ctx) {
  Call call(ctx, "MePropMlpReluGrad");
  OwnedTensor dy, y, out;
  if (!call.Input(0, "dy", TF_FLOAT, -1, dy) || !call.Input(1, "y", TF_FLOAT, -1, y)) return;
  int64_t n = TF_TensorElementCount(dy.t);
  if (!call.Check(dy.shape() == y.shape(), "dy " + dy.shape() + " and y " + y.shape() + " must have the same shape")) return;
  std::vector<int64_t> dims(dy.rank());
  for (int i = 0; i < dy.rank(); i++) dims[i] = dy.dim(i);
  OwnedStatus st;
  out.t = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims.data(), dy.rank(), n * sizeof(float), st.s);
  if (!st.ok()) {
    call.Error("cannot allocate the output");
    return;
  }
  const float* g = dy.data<float>();
  const float* yv = y.data<float>();
  float* o = out.data<float>();
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float step = yv[i] > 0.0f ? 1.0f : (yv[i] != yv[i] ? yv[i] : 0.0f);
    o[i] = g[i] * step;
  }
}

// ---- MePropMlpDenseKeepStats: [reused, kept] (see gDenseReused), for tests.
void DenseKeepStatsCompute(void*, TF_OpKernelContext* ctx) {
  Call call(ctx, "MePropMlpDenseKeepStats");
  OwnedTensor out;
  if (!call.Output(0, TF_INT32, {2}, out)) return;
  out.data<int32_t>()[0] = gDenseReused.load();
  out.data<int32_t>()[1] = gDenseKept.load();
}

// ---- Registration.
void* CreateAttrs(TF_OpKernelConstruction* c, bool k, bool mode, bool n, bool tr, bool dense, bool withDx = false) {
  auto* at = new Attrs();
  bool ok = true;
  if (ok && k) ok = AttrInt(c, "k", &at->k);
  if (ok && mode) ok = AttrInt(c, "mode", &at->mode);
  if (ok && n) ok = AttrInt(c, "n", &at->n);
  if (ok && tr) ok = AttrBool(c, "transpose_a", &at->transposeA) && AttrBool(c, "transpose_b", &at->transposeB);
  if (ok && dense) ok = AttrBool(c, "dense_w", &at->denseW);
  if (ok && (dense || withDx)) ok = AttrBool(c, "with_dx", &at->withDx);
  return at;
}
void DeleteAttrs(void* p) { delete static_cast<Attrs*>(p); }

void* CreateSelectColumns(TF_OpKernelConstruction* c) { return CreateAttrs(c, true, false, false, false, false); }
void* CreateSelect(TF_OpKernelConstruction* c) { return CreateAttrs(c, true, true, false, false, false); }
void* CreateUnified(TF_OpKernelConstruction* c) {
  auto* at = static_cast<Attrs*>(CreateAttrs(c, true, false, false, true, true));
  AttrInt(c, "threads", &at->threads);
  AttrBool(c, "keep_dw", &at->keepDw);
  return at;
}
void* CreatePerExample(TF_OpKernelConstruction* c) {
  auto* at = static_cast<Attrs*>(CreateAttrs(c, true, false, false, true, false, true));
  AttrInt(c, "threads", &at->threads);
  return at;
}
void* CreateTransposes(TF_OpKernelConstruction* c) { return CreateAttrs(c, false, false, false, true, false); }
void* CreateGradB(TF_OpKernelConstruction* c) { return CreateAttrs(c, false, false, true, true, false); }

struct OpSpec {
  const char* name;
  std::vector<const char*> inputs, outputs, attrs;
  void (*compute)(void*, TF_OpKernelContext*);
  void* (*create)(TF_OpKernelConstruction*);
};

void RegisterMlpBackward(std::vector<std::string>& names, TF_Status* status) {
  const std::vector<OpSpec> specs = {
      {"MePropMlpSelectColumns", {"dy: float"}, {"indices: int32", "values: float"}, {"k: int"}, SelectColumnsCompute,
       CreateSelectColumns},
      {"MePropMlpSelect", {"dy: float"}, {"indices: int32", "values: float"}, {"k: int", "mode: int"}, SelectCompute, CreateSelect},
      {"MePropMlpUnifiedBackward",
       {"dy: float", "a: float", "b: float"},
       {"indices: int32", "dw: float", "third: float"},
       {"k: int", "transpose_a: bool", "transpose_b: bool", "dense_w: bool", "with_dx: bool", "threads: int = 0",
        "keep_dw: bool = true"},
       UnifiedBackwardCompute,
       CreateUnified},
      {"MePropMlpPerExampleBackward",
       {"dy: float", "a: float", "b: float"},
       {"indices: int32", "dw: float", "third: float"},
       {"k: int", "transpose_a: bool", "transpose_b: bool", "with_dx: bool", "threads: int = 0"},
       PerExampleBackwardCompute,
       CreatePerExample},
      {"MePropMlpGatherMatMul",
       {"values: float", "indices: int32", "b: float"},
       {"dx: float"},
       {"transpose_a: bool", "transpose_b: bool"},
       GatherMatMulCompute,
       CreateTransposes},
      {"MePropMlpSparseGradA",
       {"indices: int32", "values: float", "b: float"},
       {"dx: float"},
       {"transpose_a: bool", "transpose_b: bool"},
       SparseGradACompute,
       CreateTransposes},
      {"MePropMlpSparseGradB",
       {"indices: int32", "values: float", "a: float"},
       {"dw: float"},
       {"transpose_a: bool", "transpose_b: bool", "n: int"},
       SparseGradBCompute,
       CreateGradB},
      {"MePropMlpReluGrad", {"dy: float", "y: float"}, {"dx: float"}, {}, ReluGradCompute, nullptr},
      {"MePropMlpDenseKeepStats", {}, {"counts: int32"}, {}, DenseKeepStatsCompute, nullptr},
  };
  for (const OpSpec& s : specs) {
    TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(s.name);
    for (const char* i : s.inputs) TF_OpDefinitionBuilderAddInput(op, i);
    for (const char* o : s.outputs) TF_OpDefinitionBuilderAddOutput(op, o);
    for (const char* a : s.attrs) TF_OpDefinitionBuilderAddAttr(op, a);
    TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
    if (!RegisterOpAndKernel(op, s.name, s.compute, s.create, s.create ? DeleteAttrs : nullptr, status)) return;
    names.push_back(s.name);
  }
}
MEPROP_REGISTER_OPS(RegisterMlpBackward);

}  // namespace
}  // namespace mlp
}  // namespace meprop
