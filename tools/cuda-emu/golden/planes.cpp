// Host emulation of native/cuda/dnn_planes.cu with real threads: each block runs as 256 std::threads meeting at a
// std::barrier for __syncthreads and sharing the kernel's __shared__ array (a function-local static here), blocks
// one after the other. Prints the worst relative error against float64 references computed here; exits 1 on failure.
//   g++ -O1 -std=c++20 -w -pthread planes.cpp -o /tmp/planes && /tmp/planes
#include <barrier>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <thread>
#include <vector>
struct D3 { unsigned x, y, z; };
static thread_local D3 threadIdx{0, 0, 0};
static D3 blockIdx{0, 0, 0}, blockDim{256, 1, 1}, gridDim{1, 1, 1};
static std::barrier<>* bar;
#include "../shim_common.h"   // CUDA keywords and intrinsics (common.cuh's checks need __int_as_float)
#include "../shim_checks.h"   // and atomicMax, __float_as_uint
#define __restrict__
#define __syncthreads() bar->arrive_and_wait()
#include "../../../native/cuda/dnn_planes.cu"

static void launch(unsigned grid, const std::function<void()>& k)
{
    gridDim.x = grid;
    for (unsigned b = 0; b < grid; b++)
    {
        blockIdx.x = b;
        std::barrier<> br(256); bar = &br;
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < 256; t++) ts.emplace_back([&, t] { threadIdx.x = t; k(); });
        for (auto& t : ts) t.join();
    }
}

static double worst = 0;
static void cmp(const char* what, const std::vector<float>& a, const std::vector<double>& b)
{
    double e = 0;
    for (size_t i = 0; i < a.size(); i++) e = std::fmax(e, std::fabs(a[i] - b[i]) / (1 + std::fabs(b[i])));
    std::printf("%-32s max rel err %.2e\n", what, e);
    worst = std::fmax(worst, e);
}

int main()
{
    std::mt19937 rng(1); std::normal_distribution<float> nd;
    for (int size : {1, 77, 1000})
    {
        int planes = 6;
        std::vector<float> x(planes * size), y(planes), g(planes), dx(planes * size);
        for (auto& v : x) v = nd(rng);
        for (auto& v : g) v = nd(rng);
        launch(planes, [&] { global_avg_pool_forward_f32(x.data(), y.data(), size); });
        launch(1, [&] { global_avg_pool_backward_f32(g.data(), dx.data(), planes, size); });
        std::vector<double> ry(planes), rdx(planes * size);
        for (int p = 0; p < planes; p++) { double s = 0; for (int i = 0; i < size; i++) s += x[p * size + i]; ry[p] = s / size; }
        for (int i = 0; i < planes * size; i++) rdx[i] = (double)g[i / size] / size;
        char name[64]; std::snprintf(name, 64, "global_avg_pool fwd size=%d", size); cmp(name, y, ry);
        std::snprintf(name, 64, "global_avg_pool bwd size=%d", size); cmp(name, dx, rdx);
    }
    for (bool affine : {true, false})
    {
        int n = 5, c = 3, sp = 71;
        std::vector<float> x(n * c * sp), dy(n * c * sp), dx(n * c * sp), gamma{0.5f, -1.5f, 2.f}, mean{0.1f, -0.2f, 0.3f}, var{1.f, 2.f, 0.5f}, dg(c), db(c);
        for (auto& v : x) v = nd(rng);
        for (auto& v : dy) v = nd(rng);
        float eps = 1e-5f;
        launch(c, [&] { batch_norm_eval_backward_f32(x.data(), dy.data(), dx.data(), n, c, sp, affine ? gamma.data() : nullptr, mean.data(), var.data(), eps, dg.data(), db.data()); });
        std::vector<double> rdx(n * c * sp), rdg(c), rdb(c);
        for (int ch = 0; ch < c; ch++)
        {
            double inv = 1 / std::sqrt((double)var[ch] + eps), k = (affine ? gamma[ch] : 1.0) * inv;
            for (int i = 0; i < n; i++)
                for (int s = 0; s < sp; s++)
                {
                    int o = (i * c + ch) * sp + s;
                    rdx[o] = dy[o] * k; rdb[ch] += dy[o]; rdg[ch] += dy[o] * (x[o] - mean[ch]) * inv;
                }
        }
        cmp(affine ? "bn eval bwd dx (gamma)" : "bn eval bwd dx (no gamma)", dx, rdx);
        cmp("bn eval bwd dgamma", dg, rdg);
        cmp("bn eval bwd dbeta", db, rdb);
    }
    std::printf(worst < 1e-5 ? "ALL OK\n" : "SOME FAILED\n");
    return worst < 1e-5 ? 0 : 1;
}
