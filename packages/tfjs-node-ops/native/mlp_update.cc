// MePropMlpLazyUpdate: one lazy optimizer step (Adam, Adagrad or SGD) from sparse gradient slices.
//   inputs  w [R, C]; indices int32 [n] (distinct); g [n, L]: the slices, rows of w (axis 0, L = C) or
//           columns of w given as rows (axis 1, L = R); s0, s1 [n, L]: the slots' rows for those slices
//           (Adam: m, v; Adagrad: the accumulator in s0; unused slots may be any float tensor); params int32
//           [12]: six float64 (learning rate, beta1, beta2, epsilon, Adam's bias corrections 1 - beta1^t and
//           1 - beta2^t) as their bit patterns, so that no hyper-parameter is rounded to float32.
//   attrs   rule (0 adam, 1 adagrad, 2 sgd), axis (0 or 1), lazy (skip a slice whose gradient is all zero).
//   outputs the new w (a copy of w with the n slices changed), the new s0 and s1 rows ([0] when unused).
// The arithmetic is the cpu kernel's (@meprop/layers kernels/host/lazy_updates.ts) to the bit: float64 from
// the float32 inputs, rounded to float32 when stored, no fused multiply-add. The weight is copied once:
// TensorFlow's C API gives a kernel no way to know whether another tensor shares the input's buffer, so
// writing the input in place could change a tensor the caller still holds.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cmath>
#include <cstring>
#include <vector>

#include "mlp_common.h"

namespace meprop {
namespace mlp {
namespace {

struct UpdateAttrs {
  int64_t rule = 0;
  int64_t axis = 0;
  bool lazy = true;
};

struct Params {
  double lr, beta1, beta2, eps, c1, c2;
};

// One entry of the rule, as the cpu kernel computes it (float64 from float32, rounded when stored): w is the
// weight entry, m and v the slots' entries (Adam: both; Adagrad: the accumulator in m; SGD: neither).
inline void StepEntry(int64_t rule, const Params& p, double a1, double a2, double gi, float& w, float* m, float* v) {
  if (rule == 0) {
    const double mi = *m * p.beta1 + gi * a1;
    const double vi = *v * p.beta2 + gi * gi * a2;
    *m = static_cast<float>(mi);
    *v = static_cast<float>(vi);
    w = static_cast<float>(w - (p.lr * (mi / p.c1)) / (std::sqrt(vi / p.c2) + p.eps));
  } else if (rule == 1) {
    const double acc = *m + gi * gi;
    *m = static_cast<float>(acc);
    w = static_cast<float>(w - (p.lr * gi) / std::sqrt(acc + p.eps));
  } else {
    w = static_cast<float>(w - p.lr * gi);
  }
}

void UpdateCompute(void* state, TF_OpKernelContext* ctx) {
  const UpdateAttrs& at = *static_cast<UpdateAttrs*>(state);
  Call call(ctx, "MePropMlpLazyUpdate");
  OwnedTensor w, indices, g, s0, s1, params, w2, o0, o1;
  if (!call.Input(0, "value", TF_FLOAT, 2, w) || !call.Input(1, "indices", TF_INT32, 1, indices) ||
      !call.Input(2, "rows", TF_FLOAT, 2, g) || !call.Input(3, "slot0", TF_FLOAT, -1, s0) ||
      !call.Input(4, "slot1", TF_FLOAT, -1, s1) || !call.Input(5, "params", TF_INT32, 1, params))
    return;
  if (!call.Check(at.rule >= 0 && at.rule <= 2, "rule must be 0 (adam), 1 (adagrad) or 2 (sgd), got " + std::to_string(at.rule)) ||
      !call.Check(at.axis == 0 || at.axis == 1, "axis must be 0 or 1, got " + std::to_string(at.axis)) ||
      !call.Check(params.dim(0) == 12, "params must hold 6 float64 as int32 [12], got " + params.shape()))
    return;
  const int64_t R = w.dim(0), C = w.dim(1), n = indices.dim(0);
  const int64_t L = at.axis == 0 ? C : R, extent = at.axis == 0 ? R : C;
  if (!call.Check(g.dim(0) == n && g.dim(1) == L, "rows " + g.shape() + " must be [" + std::to_string(n) + ", " +
                                                     std::to_string(L) + "] for value " + w.shape() + " along axis " +
                                                     std::to_string(at.axis)))
    return;
  const int nSlots = at.rule == 0 ? 2 : at.rule == 1 ? 1 : 0;
  for (int i = 0; i < nSlots; i++) {
    const OwnedTensor& s = i == 0 ? s0 : s1;
    if (!call.Check(s.rank() == 2 && s.dim(0) == n && s.dim(1) == L,
                    std::string(i == 0 ? "slot0 " : "slot1 ") + s.shape() + " must match rows " + g.shape()))
      return;
  }
  const int32_t* ix = indices.data<int32_t>();
  std::vector<unsigned char> seen(extent, 0);
  for (int64_t t = 0; t < n; t++) {
    if (ix[t] < 0 || ix[t] >= extent)
      return (void)call.Error("indices[" + std::to_string(t) + "] = " + std::to_string(ix[t]) + " is outside [0, " +
                              std::to_string(extent) + ")");
    if (seen[ix[t]]) return (void)call.Error("indices repeat " + std::to_string(ix[t]) + ": sum the slices of one index first");
    seen[ix[t]] = 1;
  }
  Params p;
  std::memcpy(&p, params.data<int32_t>(), sizeof(p));

  if (!call.Output(0, TF_FLOAT, {R, C}, w2)) return;
  if (!call.Output(1, TF_FLOAT, {nSlots >= 1 ? n : 0, nSlots >= 1 ? L : 0}, o0)) return;
  if (!call.Output(2, TF_FLOAT, {nSlots >= 2 ? n : 0, nSlots >= 2 ? L : 0}, o1)) return;
  float* out = w2.data<float>();
  std::memcpy(out, w.data<float>(), R * C * sizeof(float));
  if (nSlots >= 1) std::memcpy(o0.data<float>(), s0.data<float>(), n * L * sizeof(float));
  if (nSlots >= 2) std::memcpy(o1.data<float>(), s1.data<float>(), n * L * sizeof(float));

  const float* gs = g.data<float>();
  float* m = nSlots >= 1 ? o0.data<float>() : nullptr;
  float* v = nSlots >= 2 ? o1.data<float>() : nullptr;
  const double a1 = 1 - p.beta1, a2 = 1 - p.beta2;
  for (int64_t t = 0; t < n; t++) {
    const float* gt = gs + t * L;
    if (at.lazy) {
      bool touched = false;
      for (int64_t l = 0; l < L && !touched; l++) touched = gt[l] != 0 || gt[l] != gt[l];
      if (!touched) continue;
    }
    // Entry l of slice t lives at w[idx, l] (axis 0) or w[l, idx] (axis 1).
    float* base = at.axis == 0 ? out + ix[t] * C : out + ix[t];
    const int64_t stride = at.axis == 0 ? 1 : C;
    float* mt = m ? m + t * L : nullptr;
    float* vt = v ? v + t * L : nullptr;
    for (int64_t l = 0; l < L; l++)
      StepEntry(at.rule, p, a1, a2, gt[l], base[l * stride], mt ? mt + l : nullptr, vt ? vt + l : nullptr);
  }
}

// MePropMlpDenseLazyUpdate: the lazy optimizers' step from a dense gradient (the weights meProp does not
// slice: biases, an exact output layer), as @meprop/layers' MePropLazyUpdate kernel on cpu and wasm computes it.
//   inputs  w (any shape, float32), g (the same size), s0, s1 (the slots, the same size; unused ones may be any
//           float tensor), params int32 [12] (as MePropMlpLazyUpdate).
//   attrs   rule (0 adam, 1 adagrad, 2 sgd), rows, cols (w viewed as [rows, cols]), lazy (update only the
//           columns with a non-zero or NaN gradient entry; otherwise every entry).
//   outputs the new w and slots (each a copy with the entries changed; an unused slot is [0]).
struct DenseAttrs {
  int64_t rule = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  bool lazy = true;
};

void DenseUpdateCompute(void* state, TF_OpKernelContext* ctx) {
  const DenseAttrs& at = *static_cast<DenseAttrs*>(state);
  Call call(ctx, "MePropMlpDenseLazyUpdate");
  OwnedTensor w, g, s0, s1, params, w2, o0, o1;
  if (!call.Input(0, "value", TF_FLOAT, -1, w) || !call.Input(1, "grad", TF_FLOAT, -1, g) ||
      !call.Input(2, "slot0", TF_FLOAT, -1, s0) || !call.Input(3, "slot1", TF_FLOAT, -1, s1) ||
      !call.Input(4, "params", TF_INT32, 1, params))
    return;
  const int64_t size = TF_TensorElementCount(w.t);
  const int nSlots = at.rule == 0 ? 2 : at.rule == 1 ? 1 : 0;
  if (!call.Check(at.rule >= 0 && at.rule <= 2, "rule must be 0 (adam), 1 (adagrad) or 2 (sgd), got " + std::to_string(at.rule)) ||
      !call.Check(at.rows >= 0 && at.cols >= 0 && at.rows * at.cols == size,
                  "rows x cols must be the size of value " + w.shape() + ", got " + std::to_string(at.rows) + " x " +
                      std::to_string(at.cols)) ||
      !call.Check(TF_TensorElementCount(g.t) == size, "grad " + g.shape() + " must have the size of value " + w.shape()) ||
      !call.Check(params.dim(0) == 12, "params must hold 6 float64 as int32 [12], got " + params.shape()))
    return;
  for (int i = 0; i < nSlots; i++) {
    const OwnedTensor& s = i == 0 ? s0 : s1;
    if (!call.Check(TF_TensorElementCount(s.t) == size,
                    std::string(i == 0 ? "slot0 " : "slot1 ") + s.shape() + " must have the size of value " + w.shape()))
      return;
  }
  Params p;
  std::memcpy(&p, params.data<int32_t>(), sizeof(p));
  std::vector<int64_t> dims(w.rank());
  for (int d = 0; d < w.rank(); d++) dims[d] = w.dim(d);
  const auto out = [&](int i, bool used, OwnedTensor& t) {
    OwnedStatus os;
    std::vector<int64_t> d = used ? dims : std::vector<int64_t>{0};
    t.t = TF_AllocateOutput(ctx, i, TF_FLOAT, d.data(), static_cast<int>(d.size()), (used ? size : 0) * sizeof(float), os.s);
    return os.ok() && t.t != nullptr ? true : call.Error("cannot allocate output " + std::to_string(i));
  };
  if (!out(0, true, w2) || !out(1, nSlots >= 1, o0) || !out(2, nSlots >= 2, o1)) return;
  float* wn = w2.data<float>();
  std::memcpy(wn, w.data<float>(), size * sizeof(float));
  float* m = nSlots >= 1 ? o0.data<float>() : nullptr;
  float* v = nSlots >= 2 ? o1.data<float>() : nullptr;
  if (m) std::memcpy(m, s0.data<float>(), size * sizeof(float));
  if (v) std::memcpy(v, s1.data<float>(), size * sizeof(float));
  const float* gs = g.data<float>();
  const int64_t R = at.rows, C = at.cols;
  std::vector<unsigned char> hit(C, at.lazy ? 0 : 1);
  if (at.lazy)
    for (int64_t e = 0; e < size; e++)
      if (gs[e] != 0 || gs[e] != gs[e]) hit[e % C] = 1;
  const double a1 = 1 - p.beta1, a2 = 1 - p.beta2;
  for (int64_t r = 0; r < R; r++) {
    for (int64_t c = 0; c < C; c++) {
      if (!hit[c]) continue;
      const int64_t e = r * C + c;
      StepEntry(at.rule, p, a1, a2, gs[e], wn[e], m ? m + e : nullptr, v ? v + e : nullptr);
    }
  }
}

void* CreateDenseUpdate(TF_OpKernelConstruction* c) {
  auto* at = new DenseAttrs();
  if (AttrInt(c, "rule", &at->rule) && AttrInt(c, "rows", &at->rows) && AttrInt(c, "cols", &at->cols))
    AttrBool(c, "lazy", &at->lazy);
  return at;
}
void DeleteDenseUpdate(void* p) { delete static_cast<DenseAttrs*>(p); }

void* CreateUpdate(TF_OpKernelConstruction* c) {
  auto* at = new UpdateAttrs();
  if (AttrInt(c, "rule", &at->rule) && AttrInt(c, "axis", &at->axis)) AttrBool(c, "lazy", &at->lazy);
  return at;
}
void DeleteUpdate(void* p) { delete static_cast<UpdateAttrs*>(p); }

void RegisterMlpUpdate(std::vector<std::string>& names, TF_Status* status) {
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropMlpLazyUpdate");
  for (const char* i : {"value: float", "indices: int32", "rows: float", "slot0: float", "slot1: float", "params: int32"})
    TF_OpDefinitionBuilderAddInput(op, i);
  for (const char* o : {"new_value: float", "new_slot0: float", "new_slot1: float"}) TF_OpDefinitionBuilderAddOutput(op, o);
  for (const char* a : {"rule: int", "axis: int", "lazy: bool"}) TF_OpDefinitionBuilderAddAttr(op, a);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
  if (RegisterOpAndKernel(op, "MePropMlpLazyUpdate", UpdateCompute, CreateUpdate, DeleteUpdate, status))
    names.push_back("MePropMlpLazyUpdate");
}
MEPROP_REGISTER_OPS(RegisterMlpUpdate);
void RegisterMlpDenseUpdate(std::vector<std::string>& names, TF_Status* status) {
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropMlpDenseLazyUpdate");
  for (const char* i : {"value: float", "grad: float", "slot0: float", "slot1: float", "params: int32"})
    TF_OpDefinitionBuilderAddInput(op, i);
  for (const char* o : {"new_value: float", "new_slot0: float", "new_slot1: float"}) TF_OpDefinitionBuilderAddOutput(op, o);
  for (const char* a : {"rule: int", "rows: int", "cols: int", "lazy: bool"}) TF_OpDefinitionBuilderAddAttr(op, a);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
  if (RegisterOpAndKernel(op, "MePropMlpDenseLazyUpdate", DenseUpdateCompute, CreateDenseUpdate, DeleteDenseUpdate, status))
    names.push_back("MePropMlpDenseLazyUpdate");
}
MEPROP_REGISTER_OPS(RegisterMlpDenseUpdate);

}  // namespace
}  // namespace mlp
}  // namespace meprop
