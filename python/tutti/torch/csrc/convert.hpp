// SPDX-License-Identifier: BSD-3-Clause
//
// From PyTorch's terms to tutti's: tensors checked (CPU, strided, dense or
// contiguous), torch dtypes and ReduceOps mapped to tutti's, and errors
// turned into the exception PyTorch expects (DistBackendError on 2.x, a
// RuntimeError on 1.13) carrying the tutti result name and detail.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/csrc/distributed/c10d/Types.hpp>

#include <tutti.h>

#include <exception>
#include <string>
#include <vector>

namespace tutti_torch {

// What a reduction sends to tutti: its type, op and the count of elements
// (complex tensors reduce as pairs of reals; bool as uint8 with SUM -> MAX).
struct Reduction {
  tutti_datatype_t dtype;
  tutti_op_t op;
  size_t count;
  bool premul = false; // PREMUL_SUM: scale by factor (or factor_tensor), then SUM
  double factor = 1.0;
  at::Tensor factor_tensor; // defined when the factor is a tensor
};

// The tensor is on the CPU, strided (not sparse), and dense
// (non-overlapping and dense: elementwise calls) or contiguous (calls that
// cut it into blocks); throws naming the call and the problem otherwise.
void check_tensor(const at::Tensor& t, const char* call, bool need_contiguous);
// A list of exactly one tensor (one device per process).
const at::Tensor& single(const std::vector<at::Tensor>& ts, const char* call);
// Every tensor of a list: the same dtype as `like` (and numel when `same_numel`).
void check_list(const std::vector<at::Tensor>& ts, const at::Tensor& like, const char* call, bool same_numel,
                bool need_contiguous);

Reduction reduction(const at::Tensor& t, const c10d::ReduceOp& op, const char* call);

size_t nbytes(const at::Tensor& t);
// Whether two tensors' bytes overlap (same memory, any part).
bool overlap(const at::Tensor& a, const at::Tensor& b);

// The exception for tutti result r in call (detail: the communicator's
// text); timeouts say "Timed out", as PyTorch's tests and users expect.
std::exception_ptr make_error(tutti_result_t r, const std::string& call, const std::string& detail);
[[noreturn]] void raise(tutti_result_t r, const std::string& call, const std::string& detail);
// Bad input found before anything was posted.
[[noreturn]] void invalid(const std::string& call, const std::string& what);

} // namespace tutti_torch
