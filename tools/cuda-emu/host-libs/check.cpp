// The host emulator's own checks (check.sh): the fake driver and NVRTC behave as documented in README.md, and
// kernels with barriers and shuffles compute what a GPU would (closed forms). Crashes and aborts that the
// emulator must produce are checked in forked children. Prints one line per check; exit code = failures.
#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>
#include <map>

typedef int (*Fn)(...);
static void* cu;
static void* nv;
static int failures;
static Fn sym(void* lib, const char* name)
{
    Fn f = (Fn)dlsym(lib, name);
    if (!f) { printf("FAIL missing export %s\n", name); exit(1); }
    return f;
}
#define CU(name) sym(cu, #name)
#define NV(name) sym(nv, #name)

static void check(bool ok, const char* what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

// Runs body in a child; true when the child died of `signal` (or aborted with SIGABRT for signal == SIGABRT).
template <class F> static bool dies(F body, int signal)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { body(); _exit(0); }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == signal;
}

static const char* Source = R"(
#include "common.cuh"
// out[0] = the linear index of whichever thread wrote last (a deliberate race: the run order shows through).
extern "C" __global__ void last_writer(int* out) { out[0] = blockIdx.x * blockDim.x + threadIdx.x; }
// out[b] = sum of x[0..n) by one block of 256 threads (block_sum), then a warp butterfly of lane ids.
extern "C" __global__ void block_total(const float* x, float* out, int n)
{
    __shared__ float sh[256];
    float acc = 0;
    for (int i = threadIdx.x; i < n; i += 256) acc += x[i];
    float s = block_sum<256>(acc, sh);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}
// out[t] = sum of lane ids of t's warp (xor butterfly) + 1000 * (lane + 3 or own lane past the end: shfl_down).
extern "C" __global__ void warp_ops(float* out)
{
    unsigned lane = threadIdx.x & 31;
    float v = warp_sum((float)lane);
    float d = __shfl_down_sync(0xffffffffu, (float)lane, 3);
    unsigned b = __ballot_sync(0xffffffffu, lane & 1);
    out[blockIdx.x * blockDim.x + threadIdx.x] = v + 1000 * d + (b == 0xaaaaaaaau ? 0.5f : 0.f);
}
struct Pair { int a; int pad; long long b; };
// y[i] = p.a + p.b * i + c: a struct by value and an 8-byte scalar after it.
#define FILL(NAME, T) extern "C" __global__ void NAME(T* y, Pair p, long long c, int n) { KERNEL_LOOP(i, n) y[i] = (T)(p.a + p.b * i + c); }
FILL(fill_pair_f64, double)
extern "C" __global__ void divergent_barrier(float* out) { if (threadIdx.x < 5) __syncthreads();
    else __syncthreads(); out[threadIdx.x] = 1; }
extern "C" __global__ void overrun(float* y, int n) { KERNEL_LOOP(i, n) y[i + 64] = 1; }
extern "C" __global__ void plain_then_barrier(float* y, int sync) { if (sync) __syncthreads(); y[threadIdx.x] = 1; }
// y[0..4) = x[off..off+4) by one float4 load: x + off must be 16-byte aligned, as on a GPU.
extern "C" __global__ void load_float4(const float* x, float* y, int off) { reinterpret_cast<float4*>(y)[0] = reinterpret_cast<const float4*>(x + off)[0]; }
)";

static const char* Common = nullptr;

// The counters so far, "group\tname" -> count, through the fake driver's cochlea_emu_stats_dump.
static std::map<std::string, long long> stats(const std::string& path)
{
    std::map<std::string, long long> m;
    if (((int (*)(const char*))dlsym(cu, "cochlea_emu_stats_dump"))(path.c_str()) != 0) return m;
    FILE* f = fopen(path.c_str(), "r");
    char line[512], group[64], name[256];
    long long count, bytes;
    while (f && fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%63[^\t]\t%255[^\t]\t%lld\t%lld", group, name, &count, &bytes) == 4) m[std::string(group) + "\t" + name] = count;
    if (f) fclose(f);
    unlink(path.c_str());
    return m;
}

// COCHLEA_EMU_SKIP_WORK=1: a launch is still validated (a host pointer is still ILLEGAL_ADDRESS) and counted, but
// the kernel does not run; memsets do not either; HtoD copies still do.
static int check_skip_work(void* fn, void** a1, unsigned long long x, unsigned long long y, const std::string& path)
{
    ((float*)y)[0] = -7;
    check(CU(cuLaunchKernel)(fn, 3, 1, 1, 256, 1, 1, 0, nullptr, a1, nullptr) == 0 && ((float*)y)[0] == -7, "SKIP_WORK: the launch succeeds and the kernel does not run");
    static float hostx[1000];
    float* hp = hostx;
    void* bad[] = { &hp, a1[1], a1[2] };
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 256, 1, 1, 0, nullptr, bad, nullptr) == 700, "SKIP_WORK: a host pointer parameter is still CUDA_ERROR_ILLEGAL_ADDRESS");
    ((unsigned char*)x)[0] = 5;
    check(CU(cuMemsetD8Async)(x, 0, 16, nullptr) == 0 && ((unsigned char*)x)[0] == 0, "SKIP_WORK: a small memset still clears (device-check slots)");
    unsigned long long big = 0;
    check(CU(cuMemAlloc_v2)(&big, 128 << 10) == 0, "SKIP_WORK: cuMemAlloc_v2 128 KiB");
    ((unsigned char*)big)[0] = 5;
    check(CU(cuMemsetD8Async)(big, 0, 128 << 10, nullptr) == 0 && ((unsigned char*)big)[0] == 5, "SKIP_WORK: a memset over 64 KiB does not run");
    float v = 42;
    check(CU(cuMemcpyHtoDAsync_v2)(x, &v, 4, nullptr) == 0 && ((float*)x)[0] == 42, "SKIP_WORK: an HtoD copy still moves the data");
    auto s = stats(path);
    check(s["launch\tblock_total"] == 2 && s["memset\tcuMemsetD8Async"] == 2, "SKIP_WORK: skipped launches and memsets are still counted");
    printf("%d failure(s)\n", failures);
    return failures;
}

int main(int argc, char** argv)
{
    if (argc < 3) { fprintf(stderr, "usage: check LIBDIR COMMON_CUH [--skip-work|--reverse]\n"); return 2; }
    std::string dir = argv[1];
    // --skip-work: check.sh's second run, under COCHLEA_EMU_SKIP_WORK=1 (read once, at the first launch).
    bool skipWork = argc > 3 && !strcmp(argv[3], "--skip-work");
    bool reverse = argc > 3 && !strcmp(argv[3], "--reverse");   // check.sh's third run, under COCHLEA_EMU_ORDER=reverse
    std::string statsPath = "/tmp/cochlea-emu-check-stats-" + std::to_string(getpid());
    setenv("COCHLEA_EMU_STATS", statsPath.c_str(), 1);   // read at the first counted call
    cu = dlopen((dir + "/libcuda.so.1").c_str(), RTLD_NOW);
    nv = dlopen((dir + "/libnvrtc.so.13").c_str(), RTLD_NOW);
    if (!cu || !nv) { printf("FAIL cannot load the fakes: %s\n", dlerror()); return 1; }
    FILE* f = fopen(argv[2], "rb");
    std::vector<char> common(1 << 16);
    common.resize(fread(common.data(), 1, common.size(), f));
    common.push_back(0);
    fclose(f);
    Common = common.data();

    // Exports: CUDA 13 names only.
    check(dlsym(cu, "cuEventElapsedTime_v2") && !dlsym(cu, "cuEventElapsedTime") && !dlsym(cu, "cuMemAlloc"), "exports the CUDA 13 names (cuEventElapsedTime_v2, cuMemAlloc_v2), not the legacy ones");

    int count = -1;
    check(CU(cuDeviceGetCount)(&count) == 3, "cuDeviceGetCount before cuInit: CUDA_ERROR_NOT_INITIALIZED");
    check(CU(cuInit)(0) == 0 && CU(cuDeviceGetCount)(&count) == 0 && count == 1, "cuInit, one device");
    int major = 0, minor = -1, sms = 0, v;
    CU(cuDeviceGetAttribute)(&major, 75, 0); CU(cuDeviceGetAttribute)(&minor, 76, 0); CU(cuDeviceGetAttribute)(&sms, 16, 0);
    check(major == 9 && minor == 0 && sms == 132, "compute capability 9.0, 132 SMs");
    check(CU(cuDeviceGetAttribute)(&v, 12345, 0) == 1, "unknown attribute: CUDA_ERROR_INVALID_VALUE");
    const char* s = nullptr;
    check(CU(cuGetErrorName)(201, &s) == 0 && !strcmp(s, "CUDA_ERROR_INVALID_CONTEXT"), "cuGetErrorName");

    unsigned long long p = 0;
    check(CU(cuMemAlloc_v2)(&p, 100) == 201, "cuMemAlloc without a current context: CUDA_ERROR_INVALID_CONTEXT");
    void* ctx;
    CU(cuDevicePrimaryCtxRetain)(&ctx, 0);
    CU(cuCtxSetCurrent)(ctx);
    check(CU(cuMemAlloc_v2)(&p, 100) == 0 && p % 256 == 0, "cuMemAlloc: 256-byte aligned");
    unsigned char* bytes = (unsigned char*)p;
    bool ff = true;
    for (int i = 0; i < 100; i++) ff &= bytes[i] == 0xFF;
    check(ff, "fresh device memory is 0xFF bytes");
    check(dies([&] { ((volatile char*)p)[256] = 1; }, SIGSEGV), "writing just past the 256-rounded end faults");
    int other = -1;
    std::thread([&] { unsigned long long q; other = CU(cuMemAlloc_v2)(&q, 64); }).join();
    check(other == 201, "another thread has no current context: CUDA_ERROR_INVALID_CONTEXT");
    check(CU(cuMemFree_v2)(p + 4) == 1, "cuMemFree of an inner pointer: CUDA_ERROR_INVALID_VALUE");
    char host[300] = {};
    check(CU(cuMemcpyHtoDAsync_v2)(p + 200, host, 100, nullptr) == 1, "a copy past the allocation: CUDA_ERROR_INVALID_VALUE");
    size_t freeB, totalB;
    CU(cuMemGetInfo_v2)(&freeB, &totalB);
    check(totalB == (16ull << 30) && freeB == totalB - 256, "cuMemGetInfo: 16 GiB, the allocation counted");
    unsigned long long big;
    check(CU(cuMemAlloc_v2)(&big, 17ull << 30) == 2, "more than the device: CUDA_ERROR_OUT_OF_MEMORY");
    check(CU(cuMemFree_v2)(p) == 0 && CU(cuMemFree_v2)(p) == 1, "cuMemFree, then a double free: CUDA_ERROR_INVALID_VALUE");

    void *e0, *e1, *e2;
    float ms;
    CU(cuEventCreate)(&e0, 0); CU(cuEventCreate)(&e1, 0); CU(cuEventCreate)(&e2, 2);
    check(CU(cuEventElapsedTime_v2)(&ms, e0, e1) == 400, "elapsed time of unrecorded events: CUDA_ERROR_INVALID_HANDLE");
    CU(cuEventRecord)(e0, nullptr); usleep(2000); CU(cuEventRecord)(e1, nullptr); CU(cuEventRecord)(e2, nullptr);
    check(CU(cuEventElapsedTime_v2)(&ms, e0, e1) == 0 && ms >= 2 && ms < 1000, "elapsed time in ms");
    check(CU(cuEventElapsedTime_v2)(&ms, e0, e2) == 400, "elapsed time of a timing-disabled event: CUDA_ERROR_INVALID_HANDLE");

    // NVRTC: options, compile errors, the image.
    void* prog;
    const char* hdr[] = { Common };
    const char* inc[] = { "common.cuh" };
    NV(nvrtcCreateProgram)(&prog, Source, "check.cu", 1, hdr, inc);
    const char* bad[] = { "--gpu-architecture=sm_70" };
    check(NV(nvrtcCompileProgram)(prog, 1, bad) == 5, "sm_70 (dropped by CUDA 13): NVRTC_ERROR_INVALID_OPTION");
    const char* unknown[] = { "--no-such-option" };
    check(NV(nvrtcCompileProgram)(prog, 1, unknown) == 5, "an unknown option: NVRTC_ERROR_INVALID_OPTION");
    void* broken;
    NV(nvrtcCreateProgram)(&broken, "#include <stdint.h>\nextern \"C\" __global__ void k() {}", "broken.cu", 0, nullptr, nullptr);
    const char* opts[] = { "--gpu-architecture=sm_90", "-std=c++17" };
    size_t logSize = 0;
    check(NV(nvrtcCompileProgram)(broken, 2, opts) == 6 && NV(nvrtcGetProgramLogSize)(broken, &logSize) == 0 && logSize > 20,
          "a system header (none under NVRTC): NVRTC_ERROR_COMPILATION with a log");
    check(NV(nvrtcCompileProgram)(prog, 2, opts) == 0, "compiles for sm_90");
    size_t n;
    NV(nvrtcGetCUBINSize)(prog, &n);
    std::vector<char> image(n);
    NV(nvrtcGetCUBIN)(prog, image.data());
    void* mod;
    check(CU(cuModuleLoadData)(&mod, "\x7f" "ELF not ours") == 200, "a foreign image: CUDA_ERROR_INVALID_IMAGE");
    check(CU(cuModuleLoadData)(&mod, image.data()) == 0, "cuModuleLoadData of the fake NVRTC's image");
    void* fn;
    check(CU(cuModuleGetFunction)(&fn, mod, "nope") == 500, "an unknown kernel: CUDA_ERROR_NOT_FOUND");

    // Kernels: block barrier and warp exchanges against closed forms; parameters read by size.
    unsigned long long x, y;
    CU(cuMemAlloc_v2)(&x, 4096 * 4); CU(cuMemAlloc_v2)(&y, 4096 * 8);
    for (int i = 0; i < 4096; i++) ((float*)x)[i] = (float)(i % 7);
    int cnt = 1000;
    void* a1[] = { &x, &y, &cnt };
    CU(cuModuleGetFunction)(&fn, mod, "block_total");
    if (skipWork) return check_skip_work(fn, a1, x, y, statsPath);
    if (reverse)
    {
        void* lw;
        void* a3[] = { &y };
        CU(cuModuleGetFunction)(&lw, mod, "last_writer");
        check(CU(cuLaunchKernel)(lw, 4, 1, 1, 64, 1, 1, 0, nullptr, a3, nullptr) == 0 && ((int*)y)[0] == 0,
              "COCHLEA_EMU_ORDER=reverse: blocks and threads run last-first (thread 0 of block 0 writes last)");
        printf("%d failure(s)\n", failures);
        return failures;
    }
    check(CU(cuLaunchKernel)(fn, 3, 1, 1, 256, 1, 1, 0, nullptr, a1, nullptr) == 0 && ((float*)y)[0] == 2997 && ((float*)y)[2] == 2997,
          "block_sum over 256 fibers (3 blocks): 2997");
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 2048, 1, 1, 0, nullptr, a1, nullptr) == 1, "2048 threads per block: CUDA_ERROR_INVALID_VALUE");
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 256, 1, 1, 49153, nullptr, a1, nullptr) == 1, "48 KiB + 1 of shared memory: CUDA_ERROR_INVALID_VALUE");
    check(CU(cuLaunchKernel)(fn, 1, 65536, 1, 256, 1, 1, 0, nullptr, a1, nullptr) == 1, "grid.y 65536: CUDA_ERROR_INVALID_VALUE");
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 256, 1, 1, 0, nullptr, a1, a1) == 801, "extra: CUDA_ERROR_NOT_SUPPORTED");
    void* a2[] = { &y };
    CU(cuModuleGetFunction)(&fn, mod, "warp_ops");
    CU(cuLaunchKernel)(fn, 2, 1, 1, 64, 1, 1, 0, nullptr, a2, nullptr);
    float* o = (float*)y;
    check(o[0] == 496 + 3000.5f && o[31] == 496 + 31000.5f && o[64 + 32 + 30] == 496 + 30000.5f, "xor butterfly, shfl_down (own lane past the end), ballot");
    struct Pair { int a; int pad; long long b; } pair = { 5, 0x7fffffff, 3 };
    long long c = 1000;
    int m = 300;
    void* a3[] = { &y, &pair, &c, &m };
    CU(cuModuleGetFunction)(&fn, mod, "fill_pair_f64");
    CU(cuLaunchKernel)(fn, 2, 1, 1, 64, 1, 1, 0, nullptr, a3, nullptr);
    check(((double*)y)[0] == 1005 && ((double*)y)[299] == 1005 + 3 * 299, "a struct by value and 8-byte scalars read through kernelParams");
    CU(cuModuleGetFunction)(&fn, mod, "divergent_barrier");
    check(dies([&] { CU(cuLaunchKernel)(fn, 1, 1, 1, 64, 1, 1, 0, nullptr, a2, nullptr); }, SIGABRT), "threads at different __syncthreads: abort (deadlock)");
    int past = 200;
    CU(cuModuleGetFunction)(&fn, mod, "overrun");
    unsigned long long small;
    CU(cuMemAlloc_v2)(&small, 256 * 4);
    void* a5[] = { &small, &past };
    check(dies([&] { CU(cuLaunchKernel)(fn, 1, 1, 1, 256, 1, 1, 0, nullptr, a5, nullptr); }, SIGSEGV), "a kernel writing past its allocation faults");
    int off = 4;
    void* a8[] = { &x, &y, &off };
    CU(cuModuleGetFunction)(&fn, mod, "load_float4");
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 1, 1, 1, 0, nullptr, a8, nullptr) == 0 && ((float*)y)[0] == 4 && ((float*)y)[3] == 0,
          "a float4 load at a 16-byte aligned address");
    off = 1;
    check(dies([&] { CU(cuLaunchKernel)(fn, 1, 1, 1, 1, 1, 1, 0, nullptr, a8, nullptr); }, SIGILL), "a float4 load at a 4-byte aligned address traps (SIGILL)");
    void* a7[] = { &host, &y, &cnt };
    static float hostx[1000];
    float* hp = hostx;
    a7[0] = &hp;
    CU(cuModuleGetFunction)(&fn, mod, "block_total");
    check(CU(cuLaunchKernel)(fn, 1, 1, 1, 256, 1, 1, 0, nullptr, a7, nullptr) == 700, "a host pointer as a kernel parameter: CUDA_ERROR_ILLEGAL_ADDRESS");
    int sync = 0;
    void* a6[] = { &y, &sync };
    CU(cuModuleGetFunction)(&fn, mod, "plain_then_barrier");
    CU(cuLaunchKernel)(fn, 1, 1, 1, 32, 1, 1, 0, nullptr, a6, nullptr);
    sync = 1;
    check(dies([&] { CU(cuLaunchKernel)(fn, 1, 1, 1, 32, 1, 1, 0, nullptr, a6, nullptr); }, SIGABRT), "a plain-mode kernel reaching a barrier later: abort");
    // Call statistics (COCHLEA_EMU_STATS): launches that passed the driver's checks, per kernel (block_total: the
    // 3-block launch and the host-pointer one; the four refused by the launch limits are not counted).
    CU(cuStreamSynchronize)(nullptr);
    auto st = stats(statsPath);
    check(st["launch\tblock_total"] == 2 && st["launch\twarp_ops"] == 1 && st["alloc\tcuMemAlloc"] == 4 && st["free\tcuMemFree"] == 1
          && st["wait\tcuStreamSynchronize"] == 1 && st["copy\tcuMemcpyHtoDAsync"] == 0,
          "call statistics: launches per kernel, allocations, frees, waits (the refused copy not counted)");
    printf("%d failure(s)\n", failures);
    return failures;
}
