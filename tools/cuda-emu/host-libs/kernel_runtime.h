// CUDA built-ins for compiling native/cuda kernels as a host shared object (the fake libnvrtc passes this with
// `-include`). Blocks run one after another on the calling thread. A kernel that never reaches a barrier or a
// warp exchange runs each thread as a plain call; one that does runs each thread of a block on its own fiber
// (a tiny x86-64 stack switch, ucontext elsewhere) with a block barrier and per-warp exchanges. The mode is
// decided at a kernel's first launch: its first block runs on fibers; if no thread of it ever waited, the kernel is
// "plain" from then on (a plain thread that later reaches a barrier aborts with the kernel's name).
#pragma once
#include "shim_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <tuple>
#include <type_traits>
#include <utility>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#define __host__
#define __noinline__ __attribute__((noinline))
#define __constant__ static
#define __launch_bounds__(...)
#define EMU_HIDDEN __attribute__((visibility("hidden")))

typedef emu_dim3 dim3;
typedef emu_dim3 uint3;
static const int warpSize = 32;

// Not static: a call into the fiber switch must be assumed to change them (they change per fiber).
EMU_HIDDEN emu_dim3 threadIdx, blockIdx, gridDim, blockDim;

// ---- bit casts and integer intrinsics (those shim_common.h lacks) ----
static inline int __float_as_int(float f) { int v; memcpy(&v, &f, 4); return v; }
static inline unsigned int __float_as_uint(float f) { unsigned int v; memcpy(&v, &f, 4); return v; }
static inline float __uint_as_float(unsigned int v) { float f; memcpy(&f, &v, 4); return f; }
static inline long long __double_as_longlong(double d) { long long v; memcpy(&v, &d, 8); return v; }
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) { return (unsigned long long)(((unsigned __int128)a * b) >> 64); }
static inline int __popc(unsigned int v) { return __builtin_popcount(v); }
static inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
static inline int __clz(unsigned int v) { return v ? __builtin_clz(v) : 32; }
static inline int __clzll(unsigned long long v) { return v ? __builtin_clzll(v) : 64; }
static inline int __ffs(unsigned int v) { return __builtin_ffs((int)v); }
static inline unsigned int __brev(unsigned int v) { v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1); v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2); v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4); return __builtin_bswap32(v); }

// ---- float intrinsics: host libm stands in (no device rounding of the fast-math forms) ----
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline float __frcp_rn(float a) { volatile float r = 1.0f / a; return r; }
static inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
static inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
// glibc declares __expf & co. itself: macros, not functions, so the kernels get the host's expf & co.
#define __expf(a) expf(a)
#define __logf(a) logf(a)
#define __sinf(a) sinf(a)
#define __cosf(a) cosf(a)
#define __powf(a, b) powf(a, b)
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __saturatef(float a) { return a != a ? 0.f : (a < 0.f ? 0.f : (a > 1.f ? 1.f : a)); }
static inline float rsqrtf(float a) { return 1.0f / sqrtf(a); }
static inline double rsqrt(double a) { return 1.0 / sqrt(a); }
static inline int __float2int_rn(float a) { return (int)nearbyintf(a); }
static inline int __float2int_rz(float a) { return (int)a; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
static inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline void __threadfence() {}
static inline void __threadfence_block() {}
template <class T> static inline T __ldg(const T* p) { return *p; }

// ---- atomics: one host thread runs every CUDA thread, so a plain read-modify-write is atomic ----
template <class T> static inline T atomicAdd(T* p, T v) { T o = *p; *p = o + v; return o; }
template <class T> static inline T atomicSub(T* p, T v) { T o = *p; *p = o - v; return o; }
template <class T> static inline T atomicExch(T* p, T v) { T o = *p; *p = v; return o; }
template <class T> static inline T atomicMax(T* p, T v) { T o = *p; if (v > o) *p = v; return o; }
template <class T> static inline T atomicMin(T* p, T v) { T o = *p; if (v < o) *p = v; return o; }
template <class T> static inline T atomicCAS(T* p, T cmp, T v) { T o = *p; if (o == cmp) *p = v; return o; }
template <class T> static inline T atomicOr(T* p, T v) { T o = *p; *p = o | v; return o; }
template <class T> static inline T atomicAnd(T* p, T v) { T o = *p; *p = o & v; return o; }

// ---- fibers ----
namespace emu {

enum State { Runnable, AtBarrier, AtExchange, Done };
enum ExKind { ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All, SyncWarp };

struct Fiber
{
    void* sp;
    State state;
    emu_dim3 tid;
    unsigned linear;
    const void* site;            // barrier / exchange call site (threads must meet at the same one)
    ExKind kind;
    unsigned mask;
    int arg, width;
    unsigned long long value, result;
#if !defined(__x86_64__)
    ucontext_t uc;
#endif
};

const size_t StackBytes = 64 << 10;

// COCHLEA_EMU_ORDER=reverse runs blocks, plain threads and runnable fibers last-first: a GPU promises no order, so a
// kernel whose result depends on blocks or threads running in index order (a missing barrier or atomic) gives a
// different answer in one of the two orders.
static bool reverse_order()
{
    static const int r = [] { const char* e = getenv("COCHLEA_EMU_ORDER"); return e && !strcmp(e, "reverse") ? 1 : 0; }();
    return r != 0;
}
static inline unsigned ordered(unsigned k, unsigned n) { return reverse_order() ? n - 1 - k : k; }

struct Block
{
    const char* kernel;
    Fiber* fibers;
    unsigned count;
    unsigned current;
    void* scheduler_sp;
    bool waited;                 // some thread waited at a barrier or exchange (the kernel needs fibers)
    void (*body)(void*);
    void* arg;
    char* stacks;
    size_t stack_count;
#if !defined(__x86_64__)
    ucontext_t scheduler_uc;
#endif
};

EMU_HIDDEN Block* g_block;      // the block running on fibers (null in plain mode)
EMU_HIDDEN const char* g_plain_kernel;

[[noreturn]] static void fail(const char* kernel, const char* what)
{
    fprintf(stderr, "\ncochlea host emulator: kernel %s: %s\n", kernel ? kernel : "?", what);
    fflush(stderr);
    abort();
}

#if defined(__x86_64__)
// emu_switch(save, to): saves callee-saved registers, MXCSR and the x87 control word on the current stack,
// stores the stack pointer in *save and resumes the context whose stack pointer is `to`.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
    .text
    .p2align 4
    .hidden emu_switch
    .type emu_switch,@function
emu_switch:
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
    .size emu_switch,.-emu_switch
    .p2align 4
    .hidden emu_fiber_start
    .type emu_fiber_start,@function
emu_fiber_start:
    movq %r12, %rdi
    call emu_fiber_main
    ud2
    .size emu_fiber_start,.-emu_fiber_start
)");
extern "C" void emu_fiber_start();
#endif

extern "C" EMU_HIDDEN void emu_fiber_main(Fiber* f);

static inline void to_scheduler(Fiber* f)
{
#if defined(__x86_64__)
    emu_switch(&f->sp, g_block->scheduler_sp);
#else
    swapcontext(&f->uc, &g_block->scheduler_uc);
#endif
}

static inline void resume(Block* b, Fiber* f)
{
    threadIdx = f->tid;
#if defined(__x86_64__)
    emu_switch(&b->scheduler_sp, f->sp);
#else
    swapcontext(&b->scheduler_uc, &f->uc);
#endif
}

extern "C" EMU_HIDDEN void emu_fiber_main(Fiber* f)
{
    Block* b = g_block;
    b->body(b->arg);
    f->state = Done;
    to_scheduler(f);
    fail(b->kernel, "a finished fiber was resumed");
}

static void prepare(Block* b, Fiber* f, unsigned i)
{
    char* top = b->stacks + (size_t)(i + 1) * StackBytes;
#if defined(__x86_64__)
    // Frame popped by emu_switch: [mxcsr|fpucw][r15][r14][r13][r12 = fiber][rbx][rbp][ret = emu_fiber_start]; the
    // return slot at top-8 leaves the stack 16-aligned at the call in emu_fiber_start.
    void** sp = (void**)(top - 64);
    unsigned int csr[2];
    asm volatile("stmxcsr %0" : "=m"(csr[0]));
    unsigned short cw;
    asm volatile("fnstcw %0" : "=m"(cw));
    csr[1] = cw;
    memcpy(&sp[0], csr, 8);
    sp[1] = sp[2] = sp[3] = 0;
    sp[4] = f;
    sp[5] = sp[6] = 0;
    sp[7] = (void*)&emu_fiber_start;
    f->sp = sp;
#else
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = top - StackBytes;
    f->uc.uc_stack.ss_size = StackBytes;
    f->uc.uc_link = nullptr;
    makecontext(&f->uc, (void (*)())emu_fiber_main, 1, f);
#endif
}

static Fiber* self()
{
    if (!g_block) return nullptr;
    return &g_block->fibers[g_block->current];
}

// A plain-mode thread reached a barrier: the kernel's first launch never waited, so it was not given fibers.
[[noreturn]] static void plain_wait(const char* what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s reached in a thread run without fibers: the first block of the kernel's first launch never waited, "
             "so its threads run as plain calls; a kernel whose barriers depend on its arguments needs the emulator's "
             "fiber mode for every launch (not supported)", what);
    fail(g_plain_kernel, msg);
}

static void barrier(const void* site)
{
    Fiber* f = self();
    if (!f) plain_wait("__syncthreads");
    f->state = AtBarrier;
    f->site = site;
    g_block->waited = true;
    to_scheduler(f);
}

static unsigned long long exchange(const void* site, ExKind kind, unsigned mask, unsigned long long v, int arg, int width)
{
    Fiber* f = self();
    if (!f) plain_wait("a warp shuffle/vote/__syncwarp");
    f->state = AtExchange;
    f->site = site;
    f->kind = kind;
    f->mask = mask;
    f->value = v;
    f->arg = arg;
    f->width = width;
    g_block->waited = true;
    to_scheduler(f);
    return f->result;
}

// Releases one warp whose participants have all arrived at the same exchange; false when it cannot yet.
static bool try_release_warp(Block* b, unsigned w, char* why, size_t whyLen)
{
    unsigned first = w * 32, n = b->count - first < 32 ? b->count - first : 32;
    Fiber* lead = nullptr;
    for (unsigned l = 0; l < n; l++)
        if (b->fibers[first + l].state == AtExchange) { lead = &b->fibers[first + l]; break; }
    if (!lead) return false;
    unsigned mask = lead->mask;
    for (unsigned l = 0; l < 32; l++)
    {
        if (!(mask >> l & 1)) continue;
        if (l >= n) { snprintf(why, whyLen, "warp %u: mask 0x%08x names lane %u, which does not exist (block of %u threads)", w, mask, l, b->count); return false; }
        Fiber& f = b->fibers[first + l];
        if (f.state == Runnable) return false;   // still on its way
        if (f.state == Done) { snprintf(why, whyLen, "warp %u: mask 0x%08x names lane %u, which has exited", w, mask, l); return false; }
        if (f.state != AtExchange || f.site != lead->site || f.kind != lead->kind || f.mask != mask)
        { snprintf(why, whyLen, "warp %u: lanes named by mask 0x%08x wait at different barriers/exchanges", w, mask); return false; }
    }
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; l++)
        if (mask >> l & 1 && b->fibers[first + l].value) ballot |= 1u << l;
    for (unsigned l = 0; l < 32; l++)
    {
        if (!(mask >> l & 1)) continue;
        Fiber& f = b->fibers[first + l];
        int width = f.width, base = (int)l & ~(width - 1), src = (int)l;
        switch (f.kind)
        {
            case ShflIdx: src = base + (f.arg & (width - 1)); break;
            case ShflUp: src = (int)l - f.arg >= base ? (int)l - f.arg : (int)l; break;
            case ShflDown: src = (int)l + f.arg < base + width ? (int)l + f.arg : (int)l; break;
            case ShflXor: src = (int)l ^ f.arg; if (src >= base + width) src = (int)l; break;
            default: break;
        }
        if (f.kind <= ShflXor)
        {
            if (!(mask >> src & 1)) { snprintf(why, whyLen, "warp %u: lane %u reads lane %d, which mask 0x%08x leaves out", w, l, src, mask); return false; }
            f.result = b->fibers[first + src].value;
        }
        else if (f.kind == Ballot) f.result = ballot;
        else if (f.kind == Any) f.result = ballot != 0;
        else if (f.kind == All) f.result = ballot == mask;
        else f.result = 0;
    }
    for (unsigned l = 0; l < 32; l++)
        if (mask >> l & 1) b->fibers[first + l].state = Runnable;
    return true;
}

// Runs one block with a fiber per thread until all have finished; aborts on a deadlock.
static void run_block(Block* b)
{
    for (unsigned i = 0; i < b->count; i++)
    {
        Fiber& f = b->fibers[i];
        f.state = Runnable;
        f.linear = i;
        f.tid = { i % blockDim.x, i / blockDim.x % blockDim.y, i / (blockDim.x * blockDim.y) };
        prepare(b, &f, i);
    }
    unsigned live = b->count;
    char why[256];
    while (live > 0)
    {
        bool progress = false;
        for (unsigned k = 0; k < b->count; k++)
        {
            unsigned i = ordered(k, b->count);
            Fiber& f = b->fibers[i];
            if (f.state != Runnable) continue;
            b->current = i;
            resume(b, &f);
            progress = true;
            if (f.state == Done) live--;
        }
        if (live == 0) break;
        why[0] = 0;
        unsigned atBarrier = 0;
        const void* site = nullptr;
        bool sameSite = true;
        for (unsigned i = 0; i < b->count; i++)
            if (b->fibers[i].state == AtBarrier)
            {
                if (atBarrier++ == 0) site = b->fibers[i].site;
                else if (b->fibers[i].site != site) sameSite = false;
            }
        for (unsigned w = 0; w * 32 < b->count; w++)
            if (try_release_warp(b, w, why, sizeof why)) progress = true;
        if (atBarrier == live)
        {
            if (!sameSite) fail(b->kernel, "deadlock: every live thread of the block waits at __syncthreads, but not at the same one");
            for (unsigned i = 0; i < b->count; i++)
                if (b->fibers[i].state == AtBarrier) b->fibers[i].state = Runnable;
            progress = true;
        }
        if (!progress)
        {
            char msg[512];
            snprintf(msg, sizeof msg, "deadlock in block (%u,%u,%u): %u live threads, %u at __syncthreads, the rest at warp exchanges%s%s",
                     blockIdx.x, blockIdx.y, blockIdx.z, live, atBarrier, why[0] ? "; " : "", why);
            fail(b->kernel, msg);
        }
    }
}

// The per-kernel launch: mode 0 = undecided, 1 = plain calls, 2 = fibers.
template <class F>
static void launch(const char* kernel, int* mode, emu_dim3 grid, emu_dim3 block, F&& thread)
{
    gridDim = grid;
    blockDim = block;
    unsigned count = block.x * block.y * block.z;
    static Block b;   // this kernel's fiber pool (launches are serialised by the driver)
    auto body = [](void* p) { (*(F*)p)(); };
    bool first = true;
    unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    for (unsigned long long kb = 0; kb < blocks; kb++)
    {
        unsigned long long lb = reverse_order() ? blocks - 1 - kb : kb;
        blockIdx = { (unsigned)(lb % grid.x), (unsigned)(lb / grid.x % grid.y), (unsigned)(lb / ((unsigned long long)grid.x * grid.y)) };
        if (*mode == 1)
        {
            g_plain_kernel = kernel;
            for (unsigned k = 0; k < count; k++)
            {
                unsigned t = ordered(k, count);
                threadIdx = { t % block.x, t / block.x % block.y, t / (block.x * block.y) };
                thread();
            }
            continue;
        }
        if (b.stack_count < count)
        {
            if (b.stacks) munmap(b.stacks, b.stack_count * StackBytes);
            b.stacks = (char*)mmap(nullptr, count * StackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (b.stacks == MAP_FAILED) fail(kernel, "cannot map fiber stacks");
            delete[] b.fibers;
            b.fibers = new Fiber[count];
            b.stack_count = count;
        }
        b.kernel = kernel;
        b.count = count;
        b.waited = false;
        b.body = body;
        b.arg = (void*)&thread;
        g_block = &b;
        run_block(&b);
        g_block = nullptr;
        if (first && *mode == 0)
        {
            *mode = b.waited ? 2 : 1;
            if (getenv("COCHLEA_EMU_TRACE")) fprintf(stderr, "cochlea host emulator: kernel %s runs its threads %s\n", kernel, b.waited ? "on fibers" : "as plain calls");
        }
        first = false;
    }
}

// Reads kernel parameters as cuLaunchKernel does: params[i] points at sizeof(parameter i) bytes.
// A pointer parameter must be null or point into device memory (a host pointer would be an illegal address on a GPU,
// but reads fine here): `device` is the driver's check. Returns 0, or -1 after naming the parameter.
template <class T> static int check_pointer(const char* kernel, size_t i, const T& v, int (*device)(const void*))
{
    if constexpr (std::is_pointer_v<T>)
        if (v && device && !device((const void*)v))
        {
            fprintf(stderr, "cochlea host emulator: kernel %s: parameter %zu (%p) is not a device pointer (host memory, freed, or past an allocation)\n", kernel, i, (const void*)v);
            return -1;
        }
    return 0;
}

template <class... A, size_t... I>
static int launch_params(void (*k)(A...), const char* kernel, int* mode, void** params, emu_dim3 grid, emu_dim3 block,
                         int (*device)(const void*), int skip_work, std::index_sequence<I...>)
{
    std::tuple<std::decay_t<A>...> args;
    (memcpy((void*)&std::get<I>(args), params[I], sizeof(std::get<I>(args))), ...);
    if ((check_pointer(kernel, I, std::get<I>(args), device) | ... | 0)) return -1;
    if (skip_work) return 0;   // COCHLEA_EMU_SKIP_WORK: arguments checked, the kernel body not run
    launch(kernel, mode, grid, block, [&] { k(std::get<I>(args)...); });
    return 0;
}

} // namespace emu

template <class... A>
static int emu_launch_kernel(void (*k)(A...), const char* kernel, int* mode, void** params, emu_dim3 grid, emu_dim3 block, int (*device)(const void*),
                             int skip_work)
{
    static_assert(((!std::is_reference_v<A>) && ...), "kernel parameters are passed by value");
    return emu::launch_params(k, kernel, mode, params, grid, block, device, skip_work, std::index_sequence_for<A...>{});
}

// ---- barriers, shuffles, votes ----
#define EMU_STR2(x) #x
#define EMU_STR(x) EMU_STR2(x)
// A call site: threads meet at a barrier or exchange only when they wait at the same one.
#define EMU_HERE ((const void*)(__FILE__ ":" EMU_STR(__LINE__)))
#define __syncthreads() emu::barrier(EMU_HERE)

template <class T> static inline T emu_shfl(const void* site, emu::ExKind kind, unsigned mask, T v, int arg, int width)
{
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    unsigned long long u = 0;
    memcpy(&u, &v, sizeof(T));
    u = emu::exchange(site, kind, mask, u, arg, width);
    T r;
    memcpy(&r, &u, sizeof(T));
    return r;
}

// The call site is bound first, so the optional last argument (width, mask) keeps its CUDA default.
struct emu_at
{
    const void* site;
    template <class T> T shfl(unsigned m, T v, int lane, int width = 32) const { return emu_shfl(site, emu::ShflIdx, m, v, lane, width); }
    template <class T> T up(unsigned m, T v, unsigned d, int width = 32) const { return emu_shfl(site, emu::ShflUp, m, v, (int)d, width); }
    template <class T> T down(unsigned m, T v, unsigned d, int width = 32) const { return emu_shfl(site, emu::ShflDown, m, v, (int)d, width); }
    template <class T> T xor_(unsigned m, T v, int o, int width = 32) const { return emu_shfl(site, emu::ShflXor, m, v, o, width); }
    unsigned ballot(unsigned m, int p) const { return (unsigned)emu::exchange(site, emu::Ballot, m, p != 0, 0, 32); }
    int any(unsigned m, int p) const { return (int)emu::exchange(site, emu::Any, m, p != 0, 0, 32); }
    int all(unsigned m, int p) const { return (int)emu::exchange(site, emu::All, m, p != 0, 0, 32); }
    void syncwarp(unsigned m = 0xffffffffu) const { emu::exchange(site, emu::SyncWarp, m, 0, 0, 32); }
};
#define __shfl_sync(...) emu_at{ EMU_HERE }.shfl(__VA_ARGS__)
#define __shfl_up_sync(...) emu_at{ EMU_HERE }.up(__VA_ARGS__)
#define __shfl_down_sync(...) emu_at{ EMU_HERE }.down(__VA_ARGS__)
#define __shfl_xor_sync(...) emu_at{ EMU_HERE }.xor_(__VA_ARGS__)
#define __ballot_sync(...) emu_at{ EMU_HERE }.ballot(__VA_ARGS__)
#define __any_sync(...) emu_at{ EMU_HERE }.any(__VA_ARGS__)
#define __all_sync(...) emu_at{ EMU_HERE }.all(__VA_ARGS__)
#define __syncwarp(...) emu_at{ EMU_HERE }.syncwarp(__VA_ARGS__)

// The launcher the fake NVRTC generates per kernel (exported; the fake driver looks it up by name).
// Layout shared with libcuda.cpp's LaunchConfig. device_pointer: is this address inside a device allocation?
// skip_work: COCHLEA_EMU_SKIP_WORK (check the parameters, do not run the kernel).
struct emu_launch_config { unsigned grid[3], block[3], shared_bytes; int (*device_pointer)(const void*); int skip_work; };
#define EMU_LAUNCHER(NAME)                                                                                   \
    extern "C" __attribute__((visibility("default"))) int cochlea_emu_launch_##NAME(void** params, const emu_launch_config* c) \
    {                                                                                                        \
        static int mode = 0;                                                                                 \
        return emu_launch_kernel(NAME, #NAME, &mode, params, emu_dim3{c->grid[0], c->grid[1], c->grid[2]},   \
                                 emu_dim3{c->block[0], c->block[1], c->block[2]}, c->device_pointer,          \
                                 c->skip_work);                                                              \
    }                                                                                                        \
    extern "C" __attribute__((visibility("default"))) const int cochlea_emu_params_##NAME = emu_param_count(NAME);
template <class... A> constexpr int emu_param_count(void (*)(A...)) { return (int)sizeof...(A); }
