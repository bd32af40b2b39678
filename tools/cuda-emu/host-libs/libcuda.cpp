// A fake libcuda.so.1 for the host emulator: the CUDA driver API entry points the engine uses (by the symbol
// names cuda.h of CUDA 13 maps them to, with cuda.h's parameter types), run on the CPU. It behaves like the real
// driver wherever a bug of ours could hide: nothing works before cuInit; the current context is per thread, and
// memory/module/stream/event/launch calls without one fail with CUDA_ERROR_INVALID_CONTEXT; every device
// allocation is its own mapping, 256-byte aligned, filled with 0xFF bytes (NaN floats), with an inaccessible page
// right after its end rounded up to 256 bytes; a fixed device size (16 GiB, COCHLEA_EMU_MEM_GIB) is enforced;
// launches are validated like sm_90's and read kernelParams as the driver does. Streams run everything in order
// on the calling thread at once, which satisfies stream semantics. Modules are images from the fake libnvrtc
// (a host .so behind a magic header); each kernel runs through the launcher that fake NVRTC generated.
#include <dlfcn.h>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
struct Context { int refs = 0; bool active = false; };
struct Module;
struct Function { Module* module; std::string name; int (*launch)(void**, const void*); int params; const char* stat_name; };
struct Module { void* dl; std::map<std::string, Function*> functions; Context* ctx; };
struct Stream { Context* ctx; };
struct Event { Context* ctx; bool timing; bool recorded; timespec at; };
typedef Context* CUcontext;
typedef Module* CUmodule;
typedef Function* CUfunction;
typedef Stream* CUstream;
typedef Event* CUevent;

enum {
    CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1, CUDA_ERROR_OUT_OF_MEMORY = 2, CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100, CUDA_ERROR_INVALID_DEVICE = 101, CUDA_ERROR_INVALID_IMAGE = 200, CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_INVALID_HANDLE = 400, CUDA_ERROR_NOT_FOUND = 500, CUDA_ERROR_NOT_READY = 600, CUDA_ERROR_CONTEXT_IS_DESTROYED = 709,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700, CUDA_ERROR_NOT_SUPPORTED = 801, CUDA_ERROR_UNKNOWN = 999,
};

#define EXPORT extern "C" __attribute__((visibility("default")))

static const char ImageMagic[16] = "COCHLEA-EMU-SO\0";
static const char DeviceName[] = "Cochlea host emulator (not a GPU)";

static std::mutex g_mu;          // driver state
static std::mutex g_launch;      // one kernel at a time: the module runtimes keep their thread indices in globals
static bool g_init;
static Context g_primary;
static thread_local Context* t_ctx;

struct Allocation { void* map; size_t mapBytes; size_t bytes; };
static std::map<CUdeviceptr, Allocation> g_device;   // start -> allocation (bytes rounded up to 256)
static std::map<void*, size_t> g_host;
static size_t g_used;
static std::set<Stream*> g_streams;
static std::set<Event*> g_events;
static std::set<Module*> g_modules;
static std::set<Function*> g_functions;

static size_t total_bytes()
{
    static size_t total = [] {
        const char* e = getenv("COCHLEA_EMU_MEM_GIB");
        double gib = e && *e ? atof(e) : 16.0;
        if (!(gib > 0)) gib = 16.0;
        return (size_t)(gib * (1ull << 30));
    }();
    return total;
}

static size_t page() { static size_t p = (size_t)sysconf(_SC_PAGESIZE); return p; }

// The checks every context-bound call starts with.
static CUresult need_ctx()
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (!t_ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (!t_ctx->active) return CUDA_ERROR_CONTEXT_IS_DESTROYED;
    return CUDA_SUCCESS;
}
#define NEED_CTX() do { if (CUresult r_ = need_ctx()) return r_; } while (0)

static bool valid_stream(CUstream s)
{
    // 0 = the legacy default stream, 1/2 = CU_STREAM_LEGACY / CU_STREAM_PER_THREAD.
    return (uintptr_t)s <= 2 || (g_streams.count(s) && s->ctx == t_ctx);
}

// True when [p, p + n) lies inside one device allocation.
static bool device_range(CUdeviceptr p, size_t n)
{
    auto it = g_device.upper_bound(p);
    if (it == g_device.begin()) return false;
    --it;
    return p >= it->first && p - it->first <= it->second.bytes && n <= it->second.bytes - (p - it->first);
}

static CUresult bad_range(const char* call, CUdeviceptr p, size_t n)
{
    fprintf(stderr, "cochlea host emulator: %s: [0x%llx, +%zu) is not inside one device allocation\n", call, p, n);
    return CUDA_ERROR_INVALID_VALUE;
}

// ---- call statistics (COCHLEA_EMU_STATS=<file>) and COCHLEA_EMU_SKIP_WORK ----
// Counts per entry point, grouped: launch (per kernel name), wait (the calls that block the host until the stream
// or an event is done: cuStreamSynchronize, cuEventSynchronize, cuCtxSynchronize, the synchronous cuMemcpyDtoH),
// copy (HtoD, DtoH, DtoD, with bytes; the engine's DtoH is async and followed by a cuEventSynchronize, counted as
// a wait), memset, alloc/free (cuMemAlloc/cuMemFree, with bytes); the fake cuBLAS/cuDNN add theirs through
// cochlea_emu_stat_add (groups cublas, cudnn, cudnn-find). Written at exit to $COCHLEA_EMU_STATS, and whenever
// cochlea_emu_stats_dump(path) is called (null: that file), as "group<TAB>name<TAB>count<TAB>bytes" lines.
// Keys are the callers' string pointers (kernel names and __func__ live as long as the library), so a count is a
// hash lookup; names are merged when written.
static bool stats_on() { static bool on = [] { const char* e = getenv("COCHLEA_EMU_STATS"); return e && *e; }(); return on; }
// SKIP_WORK still clears small ranges: the engine zeroes its device-check slots (CudaDevice.DeferCheck) with a
// memset, and kernels that never run leave them as zeroed, so a skipped clear would read as a failed check.
static const size_t kSkipMemsetAbove = 64 * 1024;
static int skip_work() { static int s = [] { const char* e = getenv("COCHLEA_EMU_SKIP_WORK"); return e && *e && strcmp(e, "0") != 0; }(); return s; }
struct StatKey { const char* group; const char* name; bool operator<(const StatKey& o) const { return group != o.group ? group < o.group : name < o.name; } };
struct StatValue { long long count = 0, bytes = 0; };
static std::mutex g_stats_mu;
static std::map<StatKey, StatValue>& stats() { static auto* m = new std::map<StatKey, StatValue>(); return *m; }   // never destroyed: dumped at exit

EXPORT void cochlea_emu_stat_add(const char* group, const char* name, long long bytes)
{
    if (!stats_on()) return;
    std::lock_guard<std::mutex> l(g_stats_mu);
    auto& v = stats()[StatKey{ group, name }];
    v.count++;
    v.bytes += bytes;
}
// A kernel's name for the counters: outlives its module (modules may be unloaded before the dump at exit).
static const char* intern(const std::string& name)
{
    static auto* names = new std::set<std::string>();
    std::lock_guard<std::mutex> l(g_stats_mu);
    return names->insert(name).first->c_str();
}
static void stat(const char* group, const char* name, long long bytes = 0) { cochlea_emu_stat_add(group, name, bytes); }

// Writes the counters so far to `path` (null or empty: $COCHLEA_EMU_STATS); 0 on success, -1 if it cannot.
EXPORT int cochlea_emu_stats_dump(const char* path)
{
    if (!path || !*path) path = getenv("COCHLEA_EMU_STATS");
    if (!path || !*path) return -1;
    std::map<std::pair<std::string, std::string>, StatValue> merged;
    {
        std::lock_guard<std::mutex> l(g_stats_mu);
        for (auto& [k, v] : stats()) { auto& m = merged[{ k.group, k.name }]; m.count += v.count; m.bytes += v.bytes; }
    }
    FILE* f = fopen(path, "w");
    if (!f) { fprintf(stderr, "cochlea host emulator: cannot write the call statistics to %s\n", path); return -1; }
    fprintf(f, "# cochlea host emulator call statistics: group, name, count, bytes%s\n",
            skip_work() ? " (COCHLEA_EMU_SKIP_WORK: kernels, cuBLAS and cuDNN did no work; results were garbage)" : "");
    for (auto& [k, v] : merged) fprintf(f, "%s\t%s\t%lld\t%lld\n", k.first.c_str(), k.second.c_str(), v.count, v.bytes);
    fclose(f);
    return 0;
}

__attribute__((destructor)) static void stats_at_exit() { if (stats_on()) cochlea_emu_stats_dump(nullptr); }

// ---- errors ----
struct ErrorText { CUresult code; const char* name; const char* text; };
static const ErrorText Errors[] = {
    { 0, "CUDA_SUCCESS", "no error" },
    { 1, "CUDA_ERROR_INVALID_VALUE", "invalid argument" },
    { 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory" },
    { 3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error" },
    { 4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down" },
    { 100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected" },
    { 101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal" },
    { 200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid" },
    { 201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context" },
    { 400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle" },
    { 500, "CUDA_ERROR_NOT_FOUND", "named symbol not found" },
    { 600, "CUDA_ERROR_NOT_READY", "device not ready" },
    { 700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered" },
    { 709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed" },
    { 801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported" },
    { 999, "CUDA_ERROR_UNKNOWN", "unknown error" },
};

static const ErrorText* find_error(CUresult e)
{
    for (auto& x : Errors) if (x.code == e) return &x;
    return nullptr;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char** pStr)
{
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    auto* x = find_error(error);
    *pStr = x ? x->name : nullptr;
    return x ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** pStr)
{
    if (!pStr) return CUDA_ERROR_INVALID_VALUE;
    auto* x = find_error(error);
    *pStr = x ? x->text : nullptr;
    return x ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// ---- initialisation and device ----
EXPORT CUresult cuInit(unsigned int flags)
{
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    g_init = true;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int* version)
{
    if (!version) return CUDA_ERROR_INVALID_VALUE;
    *version = 13000;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int* count)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (!count) return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (!device) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", DeviceName);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int* pi, int attrib, CUdevice dev)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!pi) return CUDA_ERROR_INVALID_VALUE;
    // CUdevice_attribute values (cuda.h) with an H100 SXM's answers.
    static const std::map<int, int> values = {
        { 1, 1024 },        // MAX_THREADS_PER_BLOCK
        { 2, 1024 }, { 3, 1024 }, { 4, 64 },                  // MAX_BLOCK_DIM_X/Y/Z
        { 5, 2147483647 }, { 6, 65535 }, { 7, 65535 },        // MAX_GRID_DIM_X/Y/Z
        { 8, 49152 },       // MAX_SHARED_MEMORY_PER_BLOCK
        { 9, 65536 },       // TOTAL_CONSTANT_MEMORY
        { 10, 32 },         // WARP_SIZE
        { 12, 65536 },      // MAX_REGISTERS_PER_BLOCK
        { 13, 1980000 },    // CLOCK_RATE (kHz)
        { 14, 512 },        // TEXTURE_ALIGNMENT
        { 16, 132 },        // MULTIPROCESSOR_COUNT
        { 18, 0 },          // INTEGRATED
        { 19, 1 },          // CAN_MAP_HOST_MEMORY
        { 20, 0 },          // COMPUTE_MODE (default)
        { 31, 1 },          // CONCURRENT_KERNELS
        { 32, 1 },          // ECC_ENABLED
        { 36, 2619000 },    // MEMORY_CLOCK_RATE (kHz)
        { 37, 5120 },       // GLOBAL_MEMORY_BUS_WIDTH
        { 38, 52428800 },   // L2_CACHE_SIZE
        { 39, 2048 },       // MAX_THREADS_PER_MULTIPROCESSOR
        { 40, 3 },          // ASYNC_ENGINE_COUNT
        { 41, 1 },          // UNIFIED_ADDRESSING
        { 75, 9 }, { 76, 0 },                                 // COMPUTE_CAPABILITY_MAJOR/MINOR
        { 81, 233472 },     // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
        { 82, 65536 },      // MAX_REGISTERS_PER_MULTIPROCESSOR
        { 83, 1 },          // MANAGED_MEMORY
        { 97, 232448 },     // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        { 106, 32 },        // MAX_BLOCKS_PER_MULTIPROCESSOR
    };
    auto it = values.find(attrib);
    if (it == values.end())
    {
        fprintf(stderr, "cochlea host emulator: cuDeviceGetAttribute(%d) is not emulated (CUDA_ERROR_INVALID_VALUE)\n", attrib);
        return CUDA_ERROR_INVALID_VALUE;
    }
    *pi = it->second;
    return CUDA_SUCCESS;
}

// ---- contexts ----
EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!pctx) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    g_primary.refs++;
    g_primary.active = true;
    *pctx = &g_primary;
    return CUDA_SUCCESS;
}

// The last release deactivates the primary context: threads that still have it current get CONTEXT_IS_DESTROYED.
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    std::lock_guard<std::mutex> l(g_mu);
    if (g_primary.refs == 0) return CUDA_ERROR_INVALID_CONTEXT;
    if (--g_primary.refs == 0) g_primary.active = false;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (ctx && ctx != &g_primary) return CUDA_ERROR_INVALID_CONTEXT;
    t_ctx = ctx;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext* pctx)
{
    if (!g_init) return CUDA_ERROR_NOT_INITIALIZED;
    if (!pctx) return CUDA_ERROR_INVALID_VALUE;
    *pctx = t_ctx;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice* dev)
{
    NEED_CTX();
    if (!dev) return CUDA_ERROR_INVALID_VALUE;
    *dev = 0;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize()
{
    NEED_CTX();
    stat("wait", "cuCtxSynchronize");
    return CUDA_SUCCESS;
}

// ---- memory ----
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize)
{
    NEED_CTX();
    if (!dptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    size_t rounded = (bytesize + 255) / 256 * 256;
    if (rounded < bytesize) return CUDA_ERROR_OUT_OF_MEMORY;
    std::lock_guard<std::mutex> l(g_mu);
    if (rounded > total_bytes() - g_used) return CUDA_ERROR_OUT_OF_MEMORY;
    // The allocation ends exactly where a PROT_NONE guard page starts, so an overrun faults.
    size_t span = (rounded + page() - 1) / page() * page();
    void* map = mmap(nullptr, span + page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
    if (mprotect((char*)map + span, page(), PROT_NONE) != 0) { munmap(map, span + page()); return CUDA_ERROR_OUT_OF_MEMORY; }
    char* start = (char*)map + (span - rounded);
    memset(start, 0xFF, rounded); // fresh device memory is not zero: NaN floats, -1 integers
    stat("alloc", "cuMemAlloc", (long long)bytesize);
    g_device[(CUdeviceptr)start] = { map, span + page(), rounded };
    g_used += rounded;
    *dptr = (CUdeviceptr)start;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_device.find(dptr);
    if (it == g_device.end())
    {
        fprintf(stderr, "cochlea host emulator: cuMemFree(0x%llx): not the start of a live device allocation\n", dptr);
        return CUDA_ERROR_INVALID_VALUE;
    }
    stat("free", "cuMemFree", (long long)it->second.bytes);
    munmap(it->second.map, it->second.mapBytes);
    g_used -= it->second.bytes;
    g_device.erase(it);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free, size_t* total)
{
    NEED_CTX();
    if (!free || !total) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    *total = total_bytes();
    *free = total_bytes() - g_used;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostAlloc(void** pp, size_t bytesize, unsigned int flags)
{
    NEED_CTX();
    if (!pp || bytesize == 0 || (flags & ~7u)) return CUDA_ERROR_INVALID_VALUE;
    size_t span = (bytesize + page() - 1) / page() * page();
    void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
    memset(p, 0xFF, span);
    std::lock_guard<std::mutex> l(g_mu);
    g_host[p] = span;
    *pp = p;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void* p)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_host.find(p);
    if (it == g_host.end()) return CUDA_ERROR_INVALID_VALUE;
    munmap(it->first, it->second);
    g_host.erase(it);
    return CUDA_SUCCESS;
}

// Copies are synchronous: by the time the call returns, the stream has "run" them.
static CUresult copy(const char* call, CUdeviceptr dst, bool dstDevice, CUdeviceptr src, bool srcDevice, size_t n, CUstream s)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!valid_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (n == 0) return CUDA_SUCCESS;
    if (!dst || !src) return CUDA_ERROR_INVALID_VALUE;
    if (dstDevice && !device_range(dst, n)) return bad_range(call, dst, n);
    if (srcDevice && !device_range(src, n)) return bad_range(call, src, n);
    stat("copy", call, (long long)n);
    if (!strcmp(call, "cuMemcpyDtoH")) stat("wait", call);   // the synchronous DtoH waits for the stream
    // SKIP_WORK moves data only across the host boundary (labels go over, losses come back and are read).
    if (skip_work() && dstDevice && srcDevice) return CUDA_SUCCESS;
    memmove((void*)dst, (const void*)src, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream s) { return copy("cuMemcpyHtoDAsync", dst, true, (CUdeviceptr)src, false, n, s); }
EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream s) { return copy("cuMemcpyDtoHAsync", (CUdeviceptr)dst, false, src, true, n, s); }
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) { return copy("cuMemcpyDtoDAsync", dst, true, src, true, n, s); }
EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) { return copy("cuMemcpyHtoD", dst, true, (CUdeviceptr)src, false, n, nullptr); }
EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { return copy("cuMemcpyDtoH", (CUdeviceptr)dst, false, src, true, n, nullptr); }
EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) { return copy("cuMemcpyDtoD", dst, true, src, true, n, nullptr); }

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream s)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!valid_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (n == 0) return CUDA_SUCCESS;
    if (!device_range(dst, n)) return bad_range("cuMemsetD8Async", dst, n);
    stat("memset", "cuMemsetD8Async", (long long)n);
    if (skip_work() && n > kSkipMemsetAbove) return CUDA_SUCCESS;
    memset((void*)dst, value, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream s)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!valid_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (n == 0) return CUDA_SUCCESS;
    if (dst % 4 || n > SIZE_MAX / 4 || !device_range(dst, n * 4)) return bad_range("cuMemsetD32Async", dst, n * 4);
    stat("memset", "cuMemsetD32Async", (long long)n * 4);
    if (skip_work() && n * 4 > kSkipMemsetAbove) return CUDA_SUCCESS;
    for (size_t i = 0; i < n; i++) ((unsigned int*)dst)[i] = value;
    return CUDA_SUCCESS;
}

// ---- streams and events ----
// Streams and events are handles in a live set: create adds, destroy checks and removes.
template <class T> static CUresult create_handle(T** out, bool validFlags, std::set<T*>& live, T value)
{
    NEED_CTX();
    if (!out || !validFlags) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    T* h = new T(value);
    live.insert(h);
    *out = h;
    return CUDA_SUCCESS;
}

template <class T> static CUresult destroy_handle(std::set<T*>& live, T* h)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!live.count(h)) return CUDA_ERROR_INVALID_HANDLE;
    live.erase(h);
    delete h;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamCreate(CUstream* ps, unsigned int flags) { return create_handle(ps, flags <= 1, g_streams, Stream{ t_ctx }); }
EXPORT CUresult cuStreamDestroy_v2(CUstream s) { return destroy_handle(g_streams, s); }

EXPORT CUresult cuStreamSynchronize(CUstream s)
{
    NEED_CTX();
    stat("wait", "cuStreamSynchronize");
    std::lock_guard<std::mutex> l(g_mu);
    return valid_stream(s) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

EXPORT CUresult cuStreamQuery(CUstream s)
{
    NEED_CTX();
    stat("query", "cuStreamQuery");   // polls, does not wait
    std::lock_guard<std::mutex> l(g_mu);
    return valid_stream(s) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// CU_EVENT_DISABLE_TIMING = 2.
EXPORT CUresult cuEventCreate(CUevent* pe, unsigned int flags) { return create_handle(pe, (flags & ~0xFu) == 0, g_events, Event{ t_ctx, (flags & 2u) == 0, false, {} }); }
EXPORT CUresult cuEventDestroy_v2(CUevent e) { return destroy_handle(g_events, e); }

EXPORT CUresult cuEventRecord(CUevent e, CUstream s)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!g_events.count(e) || !valid_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    e->recorded = true;
    clock_gettime(CLOCK_MONOTONIC, &e->at);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventSynchronize(CUevent e)
{
    NEED_CTX();
    stat("wait", "cuEventSynchronize");
    std::lock_guard<std::mutex> l(g_mu);
    return g_events.count(e) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

EXPORT CUresult cuEventQuery(CUevent e)
{
    NEED_CTX();
    stat("query", "cuEventQuery");
    std::lock_guard<std::mutex> l(g_mu);
    return g_events.count(e) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// CUDA 13's cuda.h maps cuEventElapsedTime to this symbol. Unrecorded or timing-disabled events: INVALID_HANDLE.
EXPORT CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end)
{
    NEED_CTX();
    if (!ms) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    if (!g_events.count(start) || !g_events.count(end)) return CUDA_ERROR_INVALID_HANDLE;
    if (!start->recorded || !end->recorded || !start->timing || !end->timing) return CUDA_ERROR_INVALID_HANDLE;
    *ms = (float)((end->at.tv_sec - start->at.tv_sec) * 1e3 + (end->at.tv_nsec - start->at.tv_nsec) * 1e-6);
    return CUDA_SUCCESS;
}

// ---- modules and launches ----
EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image)
{
    NEED_CTX();
    if (!module || !image) return CUDA_ERROR_INVALID_VALUE;
    if (memcmp(image, ImageMagic, sizeof ImageMagic) != 0)
    {
        fprintf(stderr, "cochlea host emulator: cuModuleLoadData: not an image of the emulator's libnvrtc (a real CUBIN/PTX cannot run here)\n");
        return CUDA_ERROR_INVALID_IMAGE;
    }
    unsigned long long len;
    memcpy(&len, (const char*)image + sizeof ImageMagic, sizeof len);
    const char* so = (const char*)image + sizeof ImageMagic + sizeof len;
    if (len < 4 || memcmp(so, "\x7f" "ELF", 4) != 0) return CUDA_ERROR_INVALID_IMAGE;
    char path[] = "/tmp/cochlea-module-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return CUDA_ERROR_UNKNOWN;
    bool ok = write(fd, so, len) == (ssize_t)len;
    close(fd);
    void* dl = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
    unlink(path);
    if (!dl)
    {
        fprintf(stderr, "cochlea host emulator: cuModuleLoadData: dlopen failed: %s\n", ok ? dlerror() : "cannot write the temporary file");
        return CUDA_ERROR_INVALID_IMAGE;
    }
    std::lock_guard<std::mutex> l(g_mu);
    auto* m = new Module{ dl, {}, t_ctx };
    g_modules.insert(m);
    *module = m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleUnload(CUmodule m)
{
    NEED_CTX();
    std::lock_guard<std::mutex> l(g_mu);
    if (!g_modules.count(m)) return CUDA_ERROR_INVALID_HANDLE;
    for (auto& f : m->functions) { g_functions.erase(f.second); delete f.second; }
    dlclose(m->dl);
    g_modules.erase(m);
    delete m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name)
{
    NEED_CTX();
    if (!f || !name) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> l(g_mu);
    if (!g_modules.count(m)) return CUDA_ERROR_INVALID_HANDLE;
    auto it = m->functions.find(name);
    if (it != m->functions.end()) { *f = it->second; return CUDA_SUCCESS; }
    std::string launcher = std::string("cochlea_emu_launch_") + name, count = std::string("cochlea_emu_params_") + name;
    void* sym = dlsym(m->dl, launcher.c_str());
    void* params = dlsym(m->dl, count.c_str());
    if (!sym || !params) return CUDA_ERROR_NOT_FOUND;
    auto* fn = new Function{ m, name, (int (*)(void**, const void*))sym, *(const int*)params, intern(name) };
    m->functions[name] = fn;
    g_functions.insert(fn);
    *f = fn;
    return CUDA_SUCCESS;
}

// Layout shared with kernel_runtime.h's emu_launch_config.
struct LaunchConfig { unsigned grid[3], block[3], shared_bytes; int (*device_pointer)(const void*); int skip_work; };

// For the launchers: pointer parameters must point into device memory (an allocation, or one past its end).
static int is_device_pointer(const void* p)
{
    std::lock_guard<std::mutex> l(g_mu);
    return device_range((CUdeviceptr)p, 0);
}

EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gridX, unsigned int gridY, unsigned int gridZ, unsigned int blockX,
    unsigned int blockY, unsigned int blockZ, unsigned int sharedMemBytes, CUstream s, void** kernelParams, void** extra)
{
    NEED_CTX();
    {
        std::lock_guard<std::mutex> l(g_mu);
        if (!g_functions.count(f) || f->module->ctx != t_ctx) return CUDA_ERROR_INVALID_HANDLE;
        if (!valid_stream(s)) return CUDA_ERROR_INVALID_HANDLE;
    }
    const char* why = nullptr;
    if (extra) why = "`extra` launch parameters are not emulated";
    else if (!gridX || !gridY || !gridZ || !blockX || !blockY || !blockZ) why = "a grid or block dimension is 0";
    else if (blockX > 1024 || blockY > 1024 || blockZ > 64) why = "block dimensions exceed sm_90's 1024 x 1024 x 64";
    else if ((unsigned long long)blockX * blockY * blockZ > 1024) why = "more than 1024 threads per block";
    else if (gridX > 2147483647u || gridY > 65535 || gridZ > 65535) why = "grid dimensions exceed sm_90's (2^31-1) x 65535 x 65535";
    else if (sharedMemBytes > 49152) why = "more than 48 KiB of dynamic shared memory (static shared memory is not counted by the emulator)";
    else if (f->params > 0 && !kernelParams) why = "kernelParams is null for a kernel with parameters";
    if (why)
    {
        fprintf(stderr, "cochlea host emulator: cuLaunchKernel(%s, grid (%u,%u,%u), block (%u,%u,%u), shared %u B): %s\n",
                f->name.c_str(), gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, why);
        return extra ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;
    }
    stat("launch", f->stat_name);
    LaunchConfig c = { { gridX, gridY, gridZ }, { blockX, blockY, blockZ }, sharedMemBytes, is_device_pointer, skip_work() };
    std::lock_guard<std::mutex> l(g_launch);
    // A launcher refuses a non-device pointer parameter: on a GPU that is an illegal address at the first access.
    return f->launch(kernelParams, &c) == 0 ? CUDA_SUCCESS : CUDA_ERROR_ILLEGAL_ADDRESS;
}
