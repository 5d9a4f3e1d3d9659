// SPDX-License-Identifier: BSD-3-Clause
//
// tutti.torch._C: the creator PyTorch calls for a "tutti" group, and a
// describe() for tests and logs.  Returns the base type PyTorch has bound
// (ProcessGroup on 1.x, Backend on 2.x), so no pybind class of our own is
// needed and PyTorch's holder (which drops the GIL in its destructor) owns
// the backend.
#include "backend.hpp"

#include <pybind11/chrono.h>
#include <torch/extension.h>

namespace py = pybind11;

namespace {

c10::intrusive_ptr<tutti_torch::Base> create_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                     std::chrono::milliseconds timeout) {
  return tutti_torch::TuttiBackend::create(store, rank, size, timeout);
}

tutti_torch::TuttiBackend* as_tutti(py::handle obj) {
  auto* base = obj.cast<tutti_torch::Base*>();
  auto* tb = dynamic_cast<tutti_torch::TuttiBackend*>(base);
  if (!tb) throw std::runtime_error("not a process group of the tutti backend");
  return tb;
}

// Seconds per call of `iters` sum all-reduces of t, in
// place: through the backend (post, progress thread, Work) or straight
// through tutti's blocking call on the same communicator.  The difference is
// the backend's own cost per call (perf/torch_allreduce.py).
double bench(py::handle pg, at::Tensor t, int iters, bool direct) {
  auto* tb = as_tutti(pg);
  py::gil_scoped_release nogil;
  tutti_torch::check_tensor(t, "bench", true);
  tutti_torch::Reduction red = tutti_torch::reduction(t, c10d::ReduceOp::SUM, "bench");
  std::vector<at::Tensor> ts = {t};
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < iters; k++) {
    if (direct) {
      tutti_result_t r = tutti_allreduce(t.data_ptr(), t.data_ptr(), red.count, red.dtype, TUTTI_SUM, tb->comm());
      if (r != TUTTI_SUCCESS) tutti_torch::raise(r, "bench", tutti_comm_last_error(tb->comm()));
    } else {
      tb->allreduce(ts)->wait();
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

} // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "tutti's torch.distributed backend (use `import tutti.torch`)";
  m.def("create_backend", &create_backend, py::arg("store"), py::arg("rank"), py::arg("size"), py::arg("timeout"),
        py::call_guard<py::gil_scoped_release>(),
        "The creator torch.distributed calls for a group of backend 'tutti' (every member, in order).");
  m.def(
      "describe", [](py::handle pg) { return as_tutti(pg)->describe(); }, py::arg("backend"),
      "One line: ranks, nodes, transports of a tutti group's communicator.");
  m.def(
      "timeout", [](py::handle pg) { return as_tutti(pg)->timeout_seconds(); }, py::arg("backend"),
      "The group's deadline in seconds (tutti's no-progress deadline).");
  m.def("bench", &bench, py::arg("backend"), py::arg("tensor"), py::arg("iters"), py::arg("direct"),
        "Seconds per in-place sum all-reduce: through the backend, or tutti's own call (direct).");
  m.attr("built_for_torch") = TORCH_VERSION;
}
