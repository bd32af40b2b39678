// Runs CUDA kernels on the host with one std::thread per CUDA thread of a block (blocks in turn):
// __syncthreads is a block barrier, __shfl_xor_sync exchanges through per-warp slots between two warp barriers.
#include "shim_common.h"
#include "shim_checks.h"
#include <barrier>
#include <thread>
#include <vector>
#include <functional>
static thread_local emu_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0};
static emu_dim3 gridDim = {1, 1, 1}, blockDim = {1, 1, 1};
static std::barrier<>* emu_block_barrier;
static std::barrier<>* emu_warp_barrier[32];
static unsigned long long emu_slots[32][32];
static inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }
template <class T> static inline T __shfl_xor_sync(unsigned int, T v, int o)
{
    unsigned w = threadIdx.x / 32, l = threadIdx.x % 32;
    memcpy(&emu_slots[w][l], &v, sizeof(T));
    emu_warp_barrier[w]->arrive_and_wait();
    T r; memcpy(&r, &emu_slots[w][l ^ (unsigned)o], sizeof(T));
    emu_warp_barrier[w]->arrive_and_wait();
    return r;
}
static void emu_run(unsigned grid, unsigned block, const std::function<void()>& body)
{
    gridDim = {grid, 1, 1}; blockDim = {block, 1, 1};
    std::barrier<> bb(block);
    for (unsigned w = 0; w < (block + 31) / 32; w++) { emu_warp_barrier[w] = new std::barrier<>(block - w * 32 < 32 ? block - w * 32 : 32); }
    emu_block_barrier = &bb;
    for (unsigned b = 0; b < grid; b++)
    {
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; t++) ts.emplace_back([&, b, t] { blockIdx = {b, 0, 0}; threadIdx = {t, 0, 0}; body(); });
        for (auto& th : ts) th.join();
    }
    for (unsigned w = 0; w < (block + 31) / 32; w++) delete emu_warp_barrier[w];
}
