// The fiber scheduler behind sim/exec.h.
#include "sim/exec.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

uint3 threadIdx{0, 0, 0};
uint3 blockIdx{0, 0, 0};
dim3 blockDim{1, 1, 1};
dim3 gridDim{1, 1, 1};

// Switching fibers: on x86-64 a few instructions that save the callee-saved registers and the
// SIMD/x87 control words on the old stack and load them from the new one (glibc's swapcontext
// also saves the signal mask with a system call, which made the simulator 10x slower; under
// AddressSanitizer it also clears the shadow of the whole new stack at every switch). Under
// AddressSanitizer each switch is announced to it (__sanitizer_*_switch_fiber). On other CPUs,
// swapcontext.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define PFC_SIM_ASAN 1
#endif
#if defined(__x86_64__)
#define PFC_SIM_ASM_SWITCH 1
extern "C" void pfc_sim_switch(void** saveSp, void* loadSp);
asm(R"(
.text
.globl pfc_sim_switch
.type pfc_sim_switch,@function
.hidden pfc_sim_switch
pfc_sim_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size pfc_sim_switch,.-pfc_sim_switch
)");
#endif

namespace pfc::sim {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStackBytes = size_t(1) << 20;  // ASan's redzones grow every frame
#else
constexpr size_t kStackBytes = size_t(256) << 10;
#endif

enum class State { Ready, AtBarrier, AtShuffle, Done };

struct Fiber {
#ifdef PFC_SIM_ASM_SWITCH
  void* sp = nullptr;
#else
  ucontext_t context;
#endif
  std::unique_ptr<char[]> stack;
  uint3 tid;
  int linear = 0;
  State state = State::Ready;
};

struct Warp {
  int live = 0;      // threads of this warp not yet finished
  int arrived = 0;   // at the current shuffle
  unsigned mask = 0; // the mask the first arrival named
  uint64_t generation = 0;
  std::array<std::array<uint64_t, 32>, 2> slots{};
};

struct Block {
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
#ifdef PFC_SIM_ASM_SWITCH
  void* schedulerSp = nullptr;
#else
  ucontext_t scheduler;
#endif
  int current = -1;
  int live = 0;
  int atBarrier = 0;
  const std::function<void()>* body = nullptr;
  std::string fault;
};

std::mutex g_launchMutex;  // one grid at a time: blocks share the kernels' static __shared__ data
Block* g_block = nullptr;
std::atomic<int64_t> g_launches{0};

#ifdef PFC_SIM_ASAN
// The scheduler's stack, as AddressSanitizer reports it when a fiber starts or resumes.
const void* g_schedulerStackBottom = nullptr;
size_t g_schedulerStackSize = 0;
#endif

void fiberMain() {
#ifdef PFC_SIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_schedulerStackBottom, &g_schedulerStackSize);
#endif
  Block& b = *g_block;
  (*b.body)();
  Fiber& f = b.fibers[b.current];
  f.state = State::Done;
  b.live--;
  b.warps[f.linear >> 5].live--;
#ifdef PFC_SIM_ASM_SWITCH
#ifdef PFC_SIM_ASAN
  __sanitizer_start_switch_fiber(nullptr, g_schedulerStackBottom, g_schedulerStackSize);  // this fiber ends
#endif
  pfc_sim_switch(&f.sp, b.schedulerSp);  // never resumed
  __builtin_unreachable();
#endif
  // (swapcontext) Returning switches to uc_link, the scheduler.
}

void yieldToScheduler() {
  Block& b = *g_block;
#ifdef PFC_SIM_ASM_SWITCH
#ifdef PFC_SIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, g_schedulerStackBottom, g_schedulerStackSize);
  pfc_sim_switch(&b.fibers[b.current].sp, b.schedulerSp);
  __sanitizer_finish_switch_fiber(fake, &g_schedulerStackBottom, &g_schedulerStackSize);
#else
  pfc_sim_switch(&b.fibers[b.current].sp, b.schedulerSp);
#endif
#else
  swapcontext(&b.fibers[b.current].context, &b.scheduler);
#endif
}

// Readies a fiber to start fiberMain on its own stack.
void startFiber(Block& b, Fiber& f) {
#ifdef PFC_SIM_ASM_SWITCH
  // The frame pfc_sim_switch pops: control words, r15..rbp, then the return address, placed so
  // that fiberMain starts with the stack alignment of a call (rsp = 8 mod 16).
  char* top = f.stack.get() + kStackBytes;
  uintptr_t ret = (reinterpret_cast<uintptr_t>(top) - 16) & ~uintptr_t(15);
  uint64_t* frame = reinterpret_cast<uint64_t*>(ret) - 7;
  uint32_t control[2];
  asm volatile("stmxcsr %0" : "=m"(control[0]));
  asm volatile("fnstcw %0" : "=m"(control[1]));
  std::memcpy(&frame[0], control, 8);
  for (int i = 1; i < 7; ++i) frame[i] = 0;                   // r15, r14, r13, r12, rbx, rbp
  *reinterpret_cast<uint64_t*>(ret) = reinterpret_cast<uint64_t>(&fiberMain);
  f.sp = frame;
  (void)b;
#else
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = f.stack.get();
  f.context.uc_stack.ss_size = kStackBytes;
  f.context.uc_link = &b.scheduler;
  makecontext(&f.context, fiberMain, 0);
#endif
}

void resumeFiber(Block& b, Fiber& f) {
#ifdef PFC_SIM_ASM_SWITCH
#ifdef PFC_SIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, f.stack.get(), kStackBytes);
  pfc_sim_switch(&b.schedulerSp, f.sp);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  pfc_sim_switch(&b.schedulerSp, f.sp);
#endif
#else
  swapcontext(&b.scheduler, &f.context);
#endif
}

// The order ready fibers run in: thread 0 first (forward, the default), last (reverse), or a
// fixed shuffle (shuffle). A kernel whose result changes with it reads shared or global memory
// another thread writes without a barrier between them: the tests run the kernels under every
// order and compare them with the same references (PFC_SIM_SCHEDULE), a race check by perturbing
// the schedule, since one fiber at a time would otherwise hide every race.
enum class Schedule { Forward, Reverse, Shuffle };

Schedule scheduleFromEnvironment() {
  const char* v = std::getenv("PFC_SIM_SCHEDULE");
  if (!v || !*v || std::strcmp(v, "forward") == 0) return Schedule::Forward;
  if (std::strcmp(v, "reverse") == 0) return Schedule::Reverse;
  if (std::strcmp(v, "shuffle") == 0) return Schedule::Shuffle;
  std::fprintf(stderr, "PFC_SIM_SCHEDULE: expected forward, reverse or shuffle, got '%s'; using forward\n", v);
  return Schedule::Forward;
}

const std::vector<int>& scheduleOrder(int n) {
  static const Schedule schedule = scheduleFromEnvironment();
  static std::vector<int> order;
  if (static_cast<int>(order.size()) == n) return order;
  order.resize(n);
  for (int i = 0; i < n; ++i) order[i] = schedule == Schedule::Reverse ? n - 1 - i : i;
  if (schedule == Schedule::Shuffle) {
    uint64_t state = 0x9e3779b97f4a7c15ull;  // fixed: the same order in every run
    for (int i = n - 1; i > 0; --i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::swap(order[i], order[static_cast<int>(state % static_cast<uint64_t>(i + 1))]);
    }
  }
  return order;
}

std::string runBlock(Block& b) {
  const int n = static_cast<int>(b.fibers.size());
  b.live = n;
  b.atBarrier = 0;
  for (int w = 0; w < static_cast<int>(b.warps.size()); ++w) {
    b.warps[w] = Warp{};
    b.warps[w].live = std::min(32, n - w * 32);
  }
  for (Fiber& f : b.fibers) {
    f.state = State::Ready;
    startFiber(b, f);
  }
  const std::vector<int>& order = scheduleOrder(n);
  while (b.live > 0) {
    bool progressed = false;
    for (int i : order) {
      Fiber& f = b.fibers[i];
      if (f.state != State::Ready) continue;
      b.current = i;
      threadIdx = f.tid;
      resumeFiber(b, f);
      progressed = true;
      if (!b.fault.empty()) return b.fault;
    }
    // Complete the shuffles every live lane of the warp has reached.
    for (int w = 0; w < static_cast<int>(b.warps.size()); ++w) {
      Warp& warp = b.warps[w];
      if (warp.arrived == 0 || warp.arrived < warp.live) continue;
      for (int i = w * 32; i < std::min(n, w * 32 + 32); ++i)
        if (b.fibers[i].state == State::AtShuffle) b.fibers[i].state = State::Ready;
      warp.arrived = 0;
      warp.generation++;
      progressed = true;
    }
    if (b.atBarrier > 0 && b.atBarrier == b.live) {
      for (Fiber& f : b.fibers)
        if (f.state == State::AtBarrier) f.state = State::Ready;
      b.atBarrier = 0;
      progressed = true;
    }
    if (!progressed) {
      int atBarrier = 0, atShuffle = 0, done = 0;
      for (const Fiber& f : b.fibers) {
        atBarrier += f.state == State::AtBarrier;
        atShuffle += f.state == State::AtShuffle;
        done += f.state == State::Done;
      }
      return "a barrier or warp shuffle can never complete in block (" + std::to_string(blockIdx.x) + ", " +
             std::to_string(blockIdx.y) + ", " + std::to_string(blockIdx.z) + "): " + std::to_string(atBarrier) +
             " threads wait at __syncthreads, " + std::to_string(atShuffle) + " at a shuffle, " + std::to_string(done) +
             " have exited (a barrier inside divergent code)";
    }
  }
  return "";
}

}  // namespace

std::string runGrid(dim3 grid, dim3 block, size_t dynamicShared, const std::function<void()>& body) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (threads == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0) return "invalid configuration: an empty grid or block";
  if (threads > 1024 || block.z > 64) return "invalid configuration: a block of " + std::to_string(threads) + " threads (at most 1024)";
  if (grid.x > 2147483647u || grid.y > 65535u || grid.z > 65535u)
    return "invalid configuration: grid (" + std::to_string(grid.x) + ", " + std::to_string(grid.y) + ", " +
           std::to_string(grid.z) + ") past the device's limits (2^31-1, 65535, 65535)";
  if (dynamicShared > 48 * 1024) return "invalid configuration: " + std::to_string(dynamicShared) + " bytes of dynamic shared memory";
  std::lock_guard<std::mutex> lock(g_launchMutex);
  g_launches++;
  static Block b;  // fibers and stacks reused across launches
  const int n = static_cast<int>(threads);
  if (static_cast<int>(b.fibers.size()) < n) {
    const size_t old = b.fibers.size();
    b.fibers.resize(n);
    for (size_t i = old; i < b.fibers.size(); ++i) b.fibers[i].stack.reset(new char[kStackBytes]);
  }
  std::vector<Fiber> spare;
  if (static_cast<int>(b.fibers.size()) > n) {
    // Keep the extra fibers (and their stacks) for later launches, outside this block.
    spare.assign(std::make_move_iterator(b.fibers.begin() + n), std::make_move_iterator(b.fibers.end()));
    b.fibers.resize(n);
  }
  for (int i = 0; i < n; ++i) {
    Fiber& f = b.fibers[i];
    f.linear = i;
    f.tid = uint3{static_cast<unsigned>(i % block.x), static_cast<unsigned>((i / block.x) % block.y),
                  static_cast<unsigned>(i / (block.x * block.y))};
  }
  b.warps.assign((n + 31) / 32, Warp{});
  b.body = &body;
  b.fault.clear();
  blockDim = block;
  gridDim = grid;
  g_block = &b;
  std::string error;
  for (unsigned z = 0; z < grid.z && error.empty(); ++z)
    for (unsigned y = 0; y < grid.y && error.empty(); ++y)
      for (unsigned x = 0; x < grid.x && error.empty(); ++x) {
        blockIdx = uint3{x, y, z};
        error = runBlock(b);
      }
  g_block = nullptr;
  for (Fiber& f : spare) b.fibers.push_back(std::move(f));
  return error;
}

void syncThreads() {
  Block& b = *g_block;
  b.fibers[b.current].state = State::AtBarrier;
  b.atBarrier++;
  yieldToScheduler();
}

int laneId() { return g_block->fibers[g_block->current].linear & 31; }

uint64_t warpExchange(unsigned mask, uint64_t mine, int src) {
  Block& b = *g_block;
  Fiber& f = b.fibers[b.current];
  const int lane = f.linear & 31;
  Warp& warp = b.warps[f.linear >> 5];
  // Every lane that exists and has not exited must be named: the kernels shuffle full warps.
  unsigned expected = 0;
  for (int l = 0; l < 32; ++l) {
    const int i = (f.linear & ~31) + l;
    if (i < static_cast<int>(b.fibers.size()) && b.fibers[i].state != State::Done) expected |= 1u << l;
  }
  if ((mask & expected) != expected) {
    char text[96];
    std::snprintf(text, sizeof text, "a warp shuffle's mask 0x%08x leaves out live lanes 0x%08x", mask, expected & ~mask);
    fault(text);
  }
  if (src < 0 || src > 31 || !(expected & (1u << src))) fault("a warp shuffle reads lane " + std::to_string(src) + ", which is not live");
  const uint64_t generation = warp.generation;
  warp.slots[generation & 1][lane] = mine;
  warp.arrived++;
  f.state = State::AtShuffle;
  yieldToScheduler();
  return warp.slots[generation & 1][src & 31];
}

void fault(const std::string& what) {
  Block& b = *g_block;
  if (b.fault.empty()) b.fault = what;
}

int64_t launchCount() { return g_launches.load(); }

}  // namespace pfc::sim
