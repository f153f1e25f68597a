// Shared pieces of meProp's native convolution ops (conv_*.cc): the C API calls they use beyond tf_c_api.h,
// a small SIMD vector type, RAII for kernel inputs/outputs, the convolution geometry read from op attributes,
// and a parallel-for over the batch (on the shared pool of pool.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "pool.h"
#include "registry.h"

namespace meprop {
namespace conv {

// One SIMD register of floats (GCC/Clang vector extension): 16 lanes with AVX-512, 8 with AVX, else 4.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float VecF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VecI __attribute__((vector_size(kLanes * sizeof(float))));

inline VecF LoadV(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void StoreV(float* p, VecF v) { std::memcpy(p, &v, sizeof v); }
// All lanes s (a broadcast: `VecF{} + s` would cost an add, since 0 + s is not s for s = -0).
inline VecF Splat(float s) {
#if defined(__AVX512F__)
  return (VecF)_mm512_set1_ps(s);
#elif defined(__AVX__)
  return (VecF)_mm256_set1_ps(s);
#else
  VecF v;
  for (int i = 0; i < kLanes; i++) v[i] = s;
  return v;
#endif
}

// a * b + c, fused where the target has FMA (the build's -march=native decides).
inline VecF Fma(VecF a, VecF b, VecF c) {
#if defined(__AVX512F__)
  return (VecF)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__) && defined(__AVX__)
  return (VecF)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
  return a * b + c;
#endif
}

// dz for one vector of dy and y: dy where y > 0, dy * 0 elsewhere (0, or NaN for a non-finite dy, as a
// multiplication by the ReLU's 0/1 derivative gives), NaN where y is NaN.
inline VecF ReluGrad(VecF dy, VecF y) {
  VecF z = y > 0 ? dy : dy * 0.0f;
  return y != y ? Splat(std::numeric_limits<float>::quiet_NaN()) : z;
}
inline float ReluGrad1(float dy, float y) {
  // Branch-free: an integer blend of dy and dy - dy (= dy * 0: 0, or NaN for a non-finite dy) on y > 0. A
  // compiler turns `dy * (y > 0)` into a branch, which mispredicts about half the time on real activations.
  uint32_t a, b, r;
  const float zero = dy - dy;
  std::memcpy(&a, &dy, 4);
  std::memcpy(&b, &zero, 4);
  const uint32_t m = 0u - static_cast<uint32_t>(y > 0);
  r = (a & m) | (b & ~m);
  float z;
  std::memcpy(&z, &r, 4);
  return y != y ? y : z;
}

// Rounds n up to a whole number of vectors.
inline int64_t PadToLanes(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Inputs and outputs of one kernel call, deleted (handles only: TensorFlow owns the data) at scope exit.
class Tensors {
 public:
  explicit Tensors(TF_OpKernelContext* ctx) : ctx_(ctx), status_(TF_NewStatus()) {}
  ~Tensors() {
    for (TF_Tensor* t : owned_) TF_DeleteTensor(t);
    TF_DeleteStatus(status_);
  }
  Tensors(const Tensors&) = delete;
  Tensors& operator=(const Tensors&) = delete;

  // Input i, or null after reporting the failure (wrong dtype included) to the kernel context.
  TF_Tensor* Input(int i, TF_DataType dtype, const char* name) {
    TF_Tensor* t = nullptr;
    TF_GetInput(ctx_, i, &t, status_);
    if (TF_GetCode(status_) != TF_OK) {
      TF_OpKernelContext_Failure(ctx_, status_);
      return nullptr;
    }
    owned_.push_back(t);
    if (TF_TensorType(t) != dtype) {
      Fail(ctx_, std::string(name) + " has the wrong dtype (" + std::to_string(TF_TensorType(t)) + ")");
      return nullptr;
    }
    return t;
  }

  // Output i of `dims`, or null after reporting the failure.
  TF_Tensor* Output(int i, TF_DataType dtype, const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    size_t bytes = static_cast<size_t>(n) * (dtype == TF_FLOAT || dtype == TF_INT32 ? 4 : 8);
    TF_Tensor* t = TF_AllocateOutput(ctx_, i, dtype, dims.data(), static_cast<int>(dims.size()), bytes, status_);
    if (TF_GetCode(status_) != TF_OK) {
      TF_OpKernelContext_Failure(ctx_, status_);
      if (t) TF_DeleteTensor(t);
      return nullptr;
    }
    owned_.push_back(t);
    return t;
  }

 private:
  TF_OpKernelContext* ctx_;
  TF_Status* status_;
  std::vector<TF_Tensor*> owned_;
};

inline std::vector<int64_t> Dims(const TF_Tensor* t) {
  std::vector<int64_t> d(TF_NumDims(t));
  for (size_t i = 0; i < d.size(); i++) d[i] = TF_Dim(t, static_cast<int>(i));
  return d;
}

inline std::string ShapeText(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); i++) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Strides, dilations and the top/left padding of a 2-D NHWC convolution (bottom/right padding needs no
// attribute: reads outside the input are skipped, whatever the output size).
struct Geometry {
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1, pad_top = 0, pad_left = 0;
};

// Reads int attribute `name` into *v (at least `min`); on failure records it in the construction context.
inline bool BoolAttr(TF_OpKernelConstruction* c, const char* name, bool* v) {
  unsigned char b = 0;
  TF_Status* st = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrBool(c, name, &b, st);
  const bool ok = TF_GetCode(st) == TF_OK;
  if (ok) *v = b != 0;
  else TF_OpKernelConstruction_Failure(c, st);
  TF_DeleteStatus(st);
  return ok;
}

inline bool IntAttr(TF_OpKernelConstruction* c, const char* name, int64_t min, int64_t* v) {
  TF_Status* st = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrInt64(c, name, v, st);
  bool ok = TF_GetCode(st) == TF_OK;
  if (ok && *v < min) {
    TF_SetStatus(st, TF_INVALID_ARGUMENT, (std::string(name) + " must be >= " + std::to_string(min) + ", got " +
                                           std::to_string(*v))
                                              .c_str());
    ok = false;
  }
  if (!ok) TF_OpKernelConstruction_Failure(c, st);
  TF_DeleteStatus(st);
  return ok;
}

inline bool ReadGeometry(TF_OpKernelConstruction* c, Geometry* g) {
  return IntAttr(c, "stride_h", 1, &g->stride_h) && IntAttr(c, "stride_w", 1, &g->stride_w) &&
         IntAttr(c, "dilation_h", 1, &g->dilation_h) && IntAttr(c, "dilation_w", 1, &g->dilation_w) &&
         IntAttr(c, "pad_top", 0, &g->pad_top) && IntAttr(c, "pad_left", 0, &g->pad_left);
}

inline void AddGeometryAttrs(TF_OpDefinitionBuilder* op) {
  TF_OpDefinitionBuilderAddAttr(op, "stride_h: int = 1");
  TF_OpDefinitionBuilderAddAttr(op, "stride_w: int = 1");
  TF_OpDefinitionBuilderAddAttr(op, "dilation_h: int = 1");
  TF_OpDefinitionBuilderAddAttr(op, "dilation_w: int = 1");
  TF_OpDefinitionBuilderAddAttr(op, "pad_top: int = 0");
  TF_OpDefinitionBuilderAddAttr(op, "pad_left: int = 0");
}

// The attrs of the selection ops (`k`, `relu`; `k` unread when `with_k` is false: MePropBiasAct has none).
struct KReluAttrs {
  int64_t k = 1;
  bool relu = false;
};
template <bool with_k>
void* KReluCreate(TF_OpKernelConstruction* c) {
  auto* a = new KReluAttrs;
  if (BoolAttr(c, "relu", &a->relu) && with_k) IntAttr(c, "k", 1, &a->k);
  return a;
}
inline void KReluDelete(void* p) { delete static_cast<KReluAttrs*>(p); }

// The output positions o in [0, n_out) whose input coordinate o*stride + f*dilation - pad lies in [0, n_in).
inline void ValidRange(int64_t n_out, int64_t n_in, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  // offset = f*dilation - pad; need 0 <= o*stride + offset < n_in.
  int64_t a = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t b = n_in - offset <= 0 ? 0 : (n_in - offset + stride - 1) / stride;  // first o with o*s+offset >= n_in
  *lo = std::min(a, n_out);
  *hi = std::max(*lo, std::min(b, n_out));
}

struct ConvShape {
  int64_t B, H, W, CI, OH, OW, FH, FW, k;
};

// The first output position of a tap and the positions it visits in one image.
struct Tap {
  int64_t fh, fw, oh, ow, ih, iw;  // first output row/column, and the input row/column it reads
  int64_t rows, cols;
};

// Calls body(b, tap) for every image in [b0, b1) and filter tap that reads inside the input.
template <typename Body>
void ForEachTap(const ConvShape& s, const Geometry& g, int64_t b0, int64_t b1, Body body) {
  for (int64_t b = b0; b < b1; b++)
    for (int64_t fh = 0; fh < s.FH; fh++) {
      const int64_t offh = fh * g.dilation_h - g.pad_top;
      int64_t oh_lo, oh_hi;
      ValidRange(s.OH, s.H, g.stride_h, offh, &oh_lo, &oh_hi);
      if (oh_lo >= oh_hi) continue;
      for (int64_t fw = 0; fw < s.FW; fw++) {
        const int64_t offw = fw * g.dilation_w - g.pad_left;
        int64_t ow_lo, ow_hi;
        ValidRange(s.OW, s.W, g.stride_w, offw, &ow_lo, &ow_hi);
        if (ow_lo >= ow_hi) continue;
        body(b, Tap{fh, fw, oh_lo, ow_lo, oh_lo * g.stride_h + offh, ow_lo * g.stride_w + offw, oh_hi - oh_lo,
                    ow_hi - ow_lo});
      }
    }
}

// The most threads one op call may use (pool.h): MEPROP_NATIVE_THREADS if set, else the hardware's, at most 4.
inline int Threads() { return MaxThreads(); }

// One core's L2 cache in bytes (sysconf; 2 MB if unknown): outputs larger than this leave it anyway.
inline int64_t L2Bytes() {
  static const int64_t n = [] {
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? static_cast<int64_t>(v) : int64_t{2} << 20;
  }();
  return n;
}

// Multiply-adds worth one more thread: about 0.25 ms of one core's FMAs, well above the ~10-50 µs a helper
// takes to wake. (The choice is by work, not by core count: tfjs-node's own conv kernels use every core.)
constexpr int64_t kWorkPerThread = int64_t{1} << 22;

// Elements worth one more thread in a pass over memory (the selection's reads of dy): 2 MB of float32.
constexpr int64_t kElementsPerThread = int64_t{1} << 19;

// Threads for an op call of `work` units (multiply-adds by default): Threads() when MEPROP_NATIVE_THREADS is
// set, else one per `perThread` units, at least 1 and at most Threads().
inline int ThreadsFor(int64_t work, int64_t perThread = kWorkPerThread) {
  if (ThreadsFixed()) return Threads();
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(Threads(), work / perThread)));
}

// Runs fn(thread, begin, end) over [0, n) on up to `threads` threads (the caller and the shared pool's helpers,
// pool.h): each takes chunks of `grain` items from a shared counter until none are left, so a helper that starts
// late, or a core busy with another process, costs no more than the chunk it is running. fn is called once per
// chunk ([b, b + grain) with b a multiple of grain, on one thread too), so that per-chunk partial results can be
// made independent of the number of threads; `thread` < threads identifies the caller (0) and the helpers.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn fn, int64_t grain = 1) {
  ParallelChunks(n, threads, fn, grain);
}

}  // namespace conv
}  // namespace meprop
