// Helpers shared by the MLP ops (mlp_*.cc): owned C API handles, checked inputs, outputs, attributes, and the
// top-k selection every meProp mode uses.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pool.h"
#include "registry.h"

namespace meprop {
namespace mlp {

// A TF_Status that deletes itself.
struct OwnedStatus {
  TF_Status* s = TF_NewStatus();
  OwnedStatus() = default;
  OwnedStatus(const OwnedStatus&) = delete;
  OwnedStatus& operator=(const OwnedStatus&) = delete;
  ~OwnedStatus() { TF_DeleteStatus(s); }
  bool ok() const { return TF_GetCode(s) == TF_OK; }
};

// A TF_Tensor reference (input or output) released at scope end; the data stays with TensorFlow.
struct OwnedTensor {
  TF_Tensor* t = nullptr;
  OwnedTensor() = default;
  OwnedTensor(const OwnedTensor&) = delete;
  OwnedTensor& operator=(const OwnedTensor&) = delete;
  ~OwnedTensor() {
    if (t) TF_DeleteTensor(t);
  }
  int rank() const { return TF_NumDims(t); }
  int64_t dim(int i) const { return TF_Dim(t, i); }
  template <typename T>
  T* data() const {
    return static_cast<T*>(TF_TensorData(t));
  }
  std::string shape() const {
    std::string s = "[";
    for (int i = 0; i < rank(); i++) s += (i ? ", " : "") + std::to_string(dim(i));
    return s + "]";
  }
};

inline const char* DtypeName(TF_DataType d) {
  switch (d) {
    case TF_FLOAT:
      return "float32";
    case TF_INT32:
      return "int32";
    default:
      return "another dtype";
  }
}

// One kernel call's context: inputs and outputs with checks that fail the op with a message naming the
// op, the argument and the value. Every method returns false after failing the context.
class Call {
 public:
  Call(TF_OpKernelContext* ctx, const char* op) : ctx_(ctx), op_(op) {}

  bool Input(int i, const char* name, TF_DataType dtype, int rank, OwnedTensor& out) {
    OwnedStatus st;
    TF_GetInput(ctx_, i, &out.t, st.s);
    if (!st.ok()) return Error(std::string("cannot read input '") + name + "': " + TF_Message(st.s));
    if (TF_TensorType(out.t) != dtype)
      return Error(std::string("input '") + name + "' must be " + DtypeName(dtype) + ", got " +
                   DtypeName(TF_TensorType(out.t)));
    if (rank >= 0 && out.rank() != rank)
      return Error(std::string("input '") + name + "' must have rank " + std::to_string(rank) + ", got shape " +
                   out.shape());
    return true;
  }

  bool Output(int i, TF_DataType dtype, std::initializer_list<int64_t> dims, OwnedTensor& out) {
    std::vector<int64_t> d(dims);
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    size_t bytes = static_cast<size_t>(n) * (dtype == TF_FLOAT || dtype == TF_INT32 ? 4 : 8);
    OwnedStatus st;
    out.t = TF_AllocateOutput(ctx_, i, dtype, d.data(), static_cast<int>(d.size()), bytes, st.s);
    if (!st.ok() || out.t == nullptr) return Error(std::string("cannot allocate output ") + std::to_string(i));
    return true;
  }

  bool Error(const std::string& message) {
    Fail(ctx_, std::string(op_) + ": " + message);
    return false;
  }

  bool Check(bool cond, const std::string& message) { return cond ? true : Error(message); }

 private:
  TF_OpKernelContext* ctx_;
  const char* op_;
};

// Attribute readers for a kernel's construction (they fail the construction with the attribute's name).
inline bool AttrBool(TF_OpKernelConstruction* c, const char* name, bool* out) {
  OwnedStatus st;
  unsigned char v = 0;
  TF_OpKernelConstruction_GetAttrBool(c, name, &v, st.s);
  if (!st.ok()) {
    TF_OpKernelConstruction_Failure(c, st.s);
    return false;
  }
  *out = v != 0;
  return true;
}

inline bool AttrInt(TF_OpKernelConstruction* c, const char* name, int64_t* out) {
  OwnedStatus st;
  TF_OpKernelConstruction_GetAttrInt64(c, name, out, st.s);
  if (!st.ok()) {
    TF_OpKernelConstruction_Failure(c, st.s);
    return false;
  }
  return true;
}

// Ranking key of a float that is >= 0 or NaN with the sign bit clear: its bit pattern. These order as the
// numbers do, and every such NaN lies above +Infinity, so NaN ranks first (it must be kept and propagate).
inline uint32_t RankKey(float nonNegative) {
  uint32_t u;
  std::memcpy(&u, &nonNegative, 4);
  return u;
}

// The k largest keys of keys[0..n) with ties to the lower index (TensorFlow's TopKV2 and the host kernels
// agree on that), written to out[0..k) in ascending index order. Needs 0 < k.
void TopKAscending(const uint32_t* keys, int64_t n, int64_t k, int32_t* out);

// ParallelFor(n, fn) runs fn(begin, end) over disjoint ranges covering [0, n), on the calling thread and the
// helpers of the shared pool (pool.h): up to one thread per minPerTask items, each range taken from a counter by
// whichever thread is free. Small n runs inline, and so does a ParallelFor called from inside another one's fn or
// inside a SerialScope (the `threads = 1` test hook).
void ParallelFor(int64_t n, int64_t minPerTask, void (*fn)(void*, int64_t, int64_t), void* arg);

template <typename F>
void ParallelRange(int64_t n, int64_t minPerTask, F&& f) {
  ParallelFor(
      n, minPerTask, [](void* p, int64_t b, int64_t e) { (*static_cast<F*>(p))(b, e); }, &f);
}

}  // namespace mlp
}  // namespace meprop
