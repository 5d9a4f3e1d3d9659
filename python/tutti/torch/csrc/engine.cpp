// SPDX-License-Identifier: BSD-3-Clause
#include "engine.hpp"

#include <ATen/core/jit_type.h>

#include <list>
#include <time.h>

namespace tutti_torch {

// ---- Work -------------------------------------------------------------------

Work::Work(int rank, c10d::OpType type, const char* title, std::vector<at::Tensor> outputs,
           const c10::optional<std::vector<at::Tensor>>& inputs)
    : c10d::Work(rank, type, title, inputs), outputs_(std::move(outputs)) {
  future_ = c10::make_intrusive<c10::ivalue::Future>(c10::ListType::create(c10::TensorType::get()));
}

Work::Work(int rank, c10d::OpType type, const char* title, std::vector<std::vector<at::Tensor>> outputs,
           const c10::optional<std::vector<at::Tensor>>& inputs)
    : c10d::Work(rank, type, title, inputs), list_outputs_(std::move(outputs)), lists_(true) {
  future_ = c10::make_intrusive<c10::ivalue::Future>(
      c10::ListType::create(c10::ListType::create(c10::TensorType::get())));
}

std::vector<at::Tensor> Work::result() {
  if (!lists_) return outputs_;
  std::vector<at::Tensor> flat;
  for (auto& l : list_outputs_) flat.insert(flat.end(), l.begin(), l.end());
  return flat;
}

c10::intrusive_ptr<c10::ivalue::Future> Work::getFuture() {
  return future_;
}

bool Work::wait(std::chrono::milliseconds timeout) {
  if (timeout == kNoTimeout)
    if (auto st = engine.lock()) st->take(this);
  return c10d::Work::wait(timeout);
}

int Work::sourceRank() const {
  return source_rank;
}

void Work::complete(std::exception_ptr error) {
  if (!error && finalize) {
    try {
      finalize();
    } catch (...) {
      error = std::current_exception();
    }
  }
  finalize = nullptr;
  keep.clear();
  if (error) {
    future_->setError(error);
    finish(error);
  } else {
    if (lists_) future_->markCompleted(c10::IValue(list_outputs_));
    else future_->markCompleted(c10::IValue(outputs_));
    finish();
  }
}

// ---- Staging -------------------------------------------------------------------

at::Tensor Staging::get(int64_t numel, const at::TensorOptions& like) {
  int64_t bytes = numel * static_cast<int64_t>(c10::elementSize(c10::typeMetaToScalarType(like.dtype())));
  at::Tensor buf;
  {
    std::lock_guard<std::mutex> g(mu_);
    // the smallest kept buffer that fits
    size_t best = free_.size();
    for (size_t k = 0; k < free_.size(); k++)
      if (free_[k].numel() >= bytes && (best == free_.size() || free_[k].numel() < free_[best].numel())) best = k;
    if (best < free_.size()) {
      buf = free_[best];
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
    }
  }
  if (!buf.defined()) buf = at::empty({std::max<int64_t>(bytes, 1)}, at::TensorOptions().dtype(at::kByte));
  return buf.narrow(0, 0, bytes).view(c10::typeMetaToScalarType(like.dtype()));
}

void Staging::put(const at::Tensor& t) {
  // back to the whole byte buffer it is a view of
  at::Tensor whole = at::empty({0}, at::TensorOptions().dtype(at::kByte));
  whole.set_(t.storage(), 0, {static_cast<int64_t>(t.storage().nbytes())}, {1});
  std::lock_guard<std::mutex> g(mu_);
  if (free_.size() < kKeep) {
    free_.push_back(whole);
    return;
  }
  // full: keep the larger ones
  size_t small = 0;
  for (size_t k = 1; k < free_.size(); k++)
    if (free_[k].numel() < free_[small].numel()) small = k;
  if (free_[small].numel() < whole.numel()) free_[small] = whole;
}

// ---- Failure ------------------------------------------------------------------

std::exception_ptr Failure::record(tutti_result_t r, const std::string& call, const std::string& detail) {
  std::lock_guard<std::mutex> g(mu_);
  if (!first_) first_ = make_error(r, call, detail);
  return first_;
}

std::exception_ptr Failure::get() {
  std::lock_guard<std::mutex> g(mu_);
  return first_;
}

// ---- Engine -------------------------------------------------------------------

Engine::Engine(tutti_comm_t comm, bool ordered, std::shared_ptr<Failure> failure, std::string name)
    : st_(std::make_shared<EngineState>()), name_(std::move(name)) {
  st_->comm = comm;
  st_->ordered = ordered;
  st_->failure = std::move(failure);
}

Engine::~Engine() {
  stop();
}

bool Engine::on_thread() const {
  return started_ && std::this_thread::get_id() == thread_.get_id();
}

void Engine::push(Entry e) {
  e.work->engine = st_;
  {
    std::lock_guard<std::mutex> g(st_->mu);
    st_->queue.push_back(std::move(e));
    if (!started_) {
      started_ = true;
      thread_ = std::thread(st_->ordered ? &Engine::run_ordered : &Engine::run_polled, this);
    }
  }
  st_->cv.notify_all();
}

void Engine::stop() {
  {
    std::lock_guard<std::mutex> g(st_->mu);
    st_->stopping = true;
  }
  st_->cv.notify_all();
  if (thread_.joinable()) {
    if (on_thread()) thread_.detach(); // (the last reference dropped in a completion callback)
    else thread_.join();
  }
}

void EngineState::run(Entry& e) {
  tutti_result_t r = TUTTI_SUCCESS;
  for (tutti_request_t q : e.reqs) {
    tutti_result_t rr = ordered ? tutti_wait(q) : TUTTI_SUCCESS;
    if (rr != TUTTI_SUCCESS && r == TUTTI_SUCCESS) r = rr;
  }
  std::exception_ptr err = e.post_error;
  if (r != TUTTI_SUCCESS) {
    // the first failure names the cause; requests refused after it
    // (INVALID_USAGE, ABORTED) report that cause too
    err = failure->record(r, e.call, tutti_comm_last_error(comm));
  } else if (err) {
    err = failure->record(TUTTI_ERR_INVALID_USAGE, e.call, "a request of this call could not be posted");
  }
  e.work->complete(err);
  e.work.reset();
}

void EngineState::take(Work* w) {
  Entry e;
  {
    std::lock_guard<std::mutex> g(mu);
    if (!ordered || busy || queue.empty() || queue.front().work.get() != w) return;
    e = std::move(queue.front());
    queue.pop_front();
    busy = true;
  }
  run(e);
  {
    std::lock_guard<std::mutex> g(mu);
    busy = false;
  }
  cv.notify_all();
}

// Collectives: in posting order, each waited with tutti_wait (deadline,
// spin / yield / sleep, TCP's epoll: the library's own wait policy); one
// entry at a time, the progress thread's or a caller's (take).
void Engine::run_ordered() {
  EngineState& st = *st_;
  for (;;) {
    Entry e;
    {
      std::unique_lock<std::mutex> lk(st.mu);
      st.cv.wait(lk, [&] { return (st.stopping && !st.busy) || (!st.queue.empty() && !st.busy); });
      if (st.queue.empty()) return;
      e = std::move(st.queue.front());
      st.queue.pop_front();
      st.busy = true;
    }
    st.run(e);
    {
      std::lock_guard<std::mutex> g(st.mu);
      st.busy = false;
    }
    st.cv.notify_all();
  }
}

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, nullptr);
}

// Point-to-point: every pending request polled, each entry completed when
// its requests are; polls back off from a short spin to sleeps of 200 us
// (the deadline is the library's: tutti_test checks it as it polls).
void Engine::run_polled() {
  struct Active {
    Entry e;
    size_t next = 0;
    tutti_result_t r = TUTTI_SUCCESS;
  };
  EngineState& st = *st_;
  std::list<Active> active;
  unsigned idle = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(st.mu);
      if (active.empty()) st.cv.wait(lk, [&] { return st.stopping || !st.queue.empty(); });
      while (!st.queue.empty()) {
        active.push_back(Active{std::move(st.queue.front())});
        st.queue.pop_front();
        idle = 0;
      }
      if (active.empty()) return; // stopping, nothing left
    }
    bool moved = false;
    for (auto it = active.begin(); it != active.end();) {
      auto& reqs = it->e.reqs;
      while (it->next < reqs.size()) {
        int done = 0;
        tutti_result_t rr = tutti_test(reqs[it->next], &done);
        if (!done && rr == TUTTI_SUCCESS) break;
        if (rr != TUTTI_SUCCESS && it->r == TUTTI_SUCCESS) it->r = rr;
        it->next++;
        moved = true;
      }
      if (it->next == reqs.size()) {
        if (it->r != TUTTI_SUCCESS && !it->e.post_error)
          it->e.post_error = st.failure->record(it->r, it->e.call, tutti_comm_last_error(st.comm));
        st.run(it->e); // (requests already complete: run only completes the Work)
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    if (moved) {
      idle = 0;
    } else if (++idle > 64) {
      sleep_us(idle > 512 ? 200 : 20);
    }
  }
}

} // namespace tutti_torch
