// The N-API module: loading it registers meProp's TensorFlow ops in the libtensorflow that tfjs-node has
// already loaded in this process (the same shared library, so tfjs-node's binding.executeOp finds them).
// Exports { ops: string[], error: string | null }.
#include <node_api.h>

#include <cstring>
#include <string>
#include <vector>

#include "registry.h"

namespace meprop {

std::vector<RegisterFn>& MutableRegistrations() {
  static std::vector<RegisterFn> fns;
  return fns;
}
int AddRegistration(RegisterFn fn) {
  MutableRegistrations().push_back(fn);
  return 0;
}
const std::vector<RegisterFn>& Registrations() { return MutableRegistrations(); }

void UnknownShape(TF_ShapeInferenceContext* ctx, TF_Status* status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

static void* NoState(TF_OpKernelConstruction*) { return nullptr; }
static void NoDelete(void*) {}

bool RegisterOpAndKernel(TF_OpDefinitionBuilder* op, const char* name, void (*compute)(void*, TF_OpKernelContext*),
                         void* (*create)(TF_OpKernelConstruction*), void (*destroy)(void*), TF_Status* status) {
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) != TF_OK) return false;
  TF_KernelBuilder* kb = TF_NewKernelBuilder(name, "CPU", create ? create : NoState, compute, destroy ? destroy : NoDelete);
  TF_RegisterKernelBuilder(name, kb, status);
  return TF_GetCode(status) == TF_OK;
}

void Fail(TF_OpKernelContext* ctx, const std::string& message) {
  TF_Status* s = TF_NewStatus();
  TF_SetStatus(s, TF_INVALID_ARGUMENT, message.c_str());
  TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteStatus(s);
}

// MePropSelfTest: y = 2x (float). Used only by the loader to prove, once, that ops registered here are the ones
// tfjs-node's binding executes (same libtensorflow instance), before any meProp kernel relies on them.
static void SelfTestCompute(void*, TF_OpKernelContext* ctx) {
  TF_Status* st = TF_NewStatus();
  TF_Tensor* x = nullptr;
  TF_GetInput(ctx, 0, &x, st);
  if (TF_GetCode(st) == TF_OK) {
    int nd = TF_NumDims(x);
    std::vector<int64_t> dims(nd);
    for (int i = 0; i < nd; i++) dims[i] = TF_Dim(x, i);
    int64_t n = TF_TensorElementCount(x);
    TF_Tensor* y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims.data(), nd, n * sizeof(float), st);
    if (TF_GetCode(st) == TF_OK) {
      const float* xs = static_cast<const float*>(TF_TensorData(x));
      float* ys = static_cast<float*>(TF_TensorData(y));
      for (int64_t i = 0; i < n; i++) ys[i] = 2 * xs[i];
    }
    if (y) TF_DeleteTensor(y);
  }
  if (TF_GetCode(st) != TF_OK) TF_OpKernelContext_Failure(ctx, st);
  if (x) TF_DeleteTensor(x);
  TF_DeleteStatus(st);
}

static void RegisterSelfTest(std::vector<std::string>& names, TF_Status* status) {
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder("MePropSelfTest");
  TF_OpDefinitionBuilderAddInput(op, "x: float");
  TF_OpDefinitionBuilderAddOutput(op, "y: float");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, UnknownShape);
  if (RegisterOpAndKernel(op, "MePropSelfTest", SelfTestCompute, nullptr, nullptr, status)) names.push_back("MePropSelfTest");
}
MEPROP_REGISTER_OPS(RegisterSelfTest);

}  // namespace meprop

static bool g_done = false;
static std::vector<std::string> g_names;
static std::string g_error;

static napi_value Init(napi_env env, napi_value exports) {
  if (!g_done) {
    g_done = true;
    TF_Status* st = TF_NewStatus();
    for (meprop::RegisterFn fn : meprop::Registrations()) {
      fn(g_names, st);
      if (TF_GetCode(st) != TF_OK) {
        g_error = TF_Message(st);
        break;
      }
    }
    TF_DeleteStatus(st);
  }
  napi_value ops, error;
  napi_create_array_with_length(env, g_names.size(), &ops);
  for (size_t i = 0; i < g_names.size(); i++) {
    napi_value s;
    napi_create_string_utf8(env, g_names[i].c_str(), NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, ops, static_cast<uint32_t>(i), s);
  }
  if (g_error.empty()) napi_get_null(env, &error);
  else napi_create_string_utf8(env, g_error.c_str(), NAPI_AUTO_LENGTH, &error);
  napi_set_named_property(env, exports, "ops", ops);
  napi_set_named_property(env, exports, "error", error);
  return exports;
}

NAPI_MODULE(meprop_tf_ops, Init)
