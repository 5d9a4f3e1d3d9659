// SPDX-License-Identifier: BSD-3-Clause
//
// The progress engine: Works and the threads that complete them.
//
//   caller thread (Python, autograd)        progress thread (one per engine)
//   -------------------------------        ---------------------------------
//   check the tensors                       take the next entry
//   tutti_i<call>(..., &req)    ---queue--> tutti_wait(req) (ordered) or
//   return the Work (posted)                tutti_test(every req) (polled)
//                                           copy out, then complete the Work:
//                                             future->markCompleted(outputs)
//                                             (DDP's callbacks run here)
//
// Collectives complete in posting order, so their engine waits on the
// head with tutti_wait (its own spin / yield / sleep and deadline: no busy
// spinning).  A caller that waits on a Work the progress thread has not
// taken yet (a blocking dist.all_reduce: the caller reaches wait() within
// a microsecond of posting) takes it and waits itself: no thread hand-off
// each way, which on a VM costs tens of microseconds when a core sleeps.
// (The progress thread does not hold entries back for callers: a grace of
// 5-20 us before it takes one was measured 3-5x slower in a loop of
// blocking 8-byte all-reduces, its timer wake-ups landing on the cores the
// ranks need; perf/README.md.)  Point-to-point operations complete in any order (an isend
// must complete while an earlier irecv still waits), so their engine polls
// every pending request with a backoff that sleeps.  The first failure of
// either engine is the backend's: every later Work fails with it, and new
// calls fail at once.
#pragma once

#include "convert.hpp"

#include <ATen/core/ivalue.h>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tutti_torch {

struct EngineState;

class Work : public c10d::Work {
 public:
  // outputs: what result() and the future give (list_of_lists: allgather's
  // and gather's outputs, a list per input).
  Work(int rank, c10d::OpType type, const char* title, std::vector<at::Tensor> outputs,
       const c10::optional<std::vector<at::Tensor>>& inputs);
  Work(int rank, c10d::OpType type, const char* title, std::vector<std::vector<at::Tensor>> outputs,
       const c10::optional<std::vector<at::Tensor>>& inputs);

  std::vector<at::Tensor> result() override;
  // Without a timeout: runs the operation on the calling thread when the
  // progress thread has not taken it yet (engine.hpp), then the base wait.
  bool wait(std::chrono::milliseconds timeout = kNoTimeout) override;
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override;
  int sourceRank() const override;

  // Tensors the operation reads or writes (inputs, outputs, staging): kept
  // alive until it completes, then dropped.
  std::vector<at::Tensor> keep;
  // Runs on the progress thread once every request succeeded (copy-out).
  std::function<void()> finalize;
  int source_rank = -1;

  // The engine's: runs finalize on success, then completes the future and the work.
  void complete(std::exception_ptr error);
  std::weak_ptr<EngineState> engine; // set when queued

 private:
  std::vector<at::Tensor> outputs_;
  std::vector<std::vector<at::Tensor>> list_outputs_;
  bool lists_ = false;
  c10::intrusive_ptr<c10::ivalue::Future> future_;
};

// The backend's first failure, shared by its engines.
class Failure {
 public:
  // Records r (first one wins) and returns the error every Work reports.
  std::exception_ptr record(tutti_result_t r, const std::string& call, const std::string& detail);
  // The first failure, or nullptr while healthy.
  std::exception_ptr get();

 private:
  std::mutex mu_;
  std::exception_ptr first_;
};

// Staging buffers for list forms (all-gather and reduce-scatter of tensor
// lists go through one flat buffer): reused, so a large call faults its
// pages in once, not on every call (16 MiB of fresh pages cost this
// machine about 2 ms).  At most kKeep buffers are kept per group.
class Staging {
 public:
  // A contiguous tensor of numel elements like `like` (from a kept buffer
  // when one is large enough).
  at::Tensor get(int64_t numel, const at::TensorOptions& like);
  // Gives a buffer from get() back once its operation is done.
  void put(const at::Tensor& t);

 private:
  static constexpr size_t kKeep = 4;
  std::mutex mu_;
  std::vector<at::Tensor> free_; // uint8, 1-D
};

struct Entry {
  c10::intrusive_ptr<Work> work;
  std::vector<tutti_request_t> reqs;
  std::string call;
  std::exception_ptr post_error; // a later request failed to post: fail with this
};

// What the progress thread and waiting callers share (Works hold it weakly:
// a Work may outlive its engine).
struct EngineState {
  tutti_comm_t comm;
  bool ordered;
  std::shared_ptr<Failure> failure;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Entry> queue;
  bool stopping = false;
  bool busy = false; // an entry is being waited on (progress thread or a caller)

  // Waits for e's requests and completes its Work (either thread).
  void run(Entry& e);
  // The caller's side: w at the head and nobody waiting: run it here.
  void take(Work* w);
};

class Engine {
 public:
  Engine(tutti_comm_t comm, bool ordered, std::shared_ptr<Failure> failure, std::string name);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  tutti_comm_t comm() const { return st_->comm; }
  // Queues an entry whose requests are posted (the thread starts on first use).
  void push(Entry e);
  // Finishes every queued entry (each within the communicator's deadline),
  // then joins the thread.  Called before the communicator goes.
  void stop();
  // Whether the calling thread is this engine's progress thread.
  bool on_thread() const;

 private:
  void run_ordered();
  void run_polled();

  std::shared_ptr<EngineState> st_;
  std::string name_;
  bool started_ = false;
  std::thread thread_;
};

} // namespace tutti_torch
