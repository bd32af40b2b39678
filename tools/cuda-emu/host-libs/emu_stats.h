// The fake cuBLAS/cuDNN side of the host emulator's call statistics and of COCHLEA_EMU_SKIP_WORK. The counters live
// in the fake libcuda.so.1 (cochlea_emu_stat_add, libcuda.cpp); these libraries find it among the loaded ones at
// their first counted call and count nothing when it is absent (check_blas_dnn.py loads them alone).
#pragma once
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

namespace emu_stats {
typedef void (*AddFn)(const char *group, const char *name, long long bytes);

inline AddFn adder() {
    static AddFn f = [] {
        void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);  // only one already loaded; never loads it
        return h ? (AddFn)dlsym(h, "cochlea_emu_stat_add") : (AddFn) nullptr;
    }();
    return f;
}

// Counts one call of `name` (a string literal or __func__: the pointer is the key) in `group`.
inline void add(const char *group, const char *name, long long bytes = 0) {
    if (AddFn f = adder()) f(group, name, bytes);
}

// COCHLEA_EMU_SKIP_WORK=1: calls validate their arguments, then return without computing (results are garbage),
// so that the host-side cost of the engine's CUDA layer can be timed without the emulated GPU work.
inline bool skip_work() {
    static bool s = [] { const char *e = getenv("COCHLEA_EMU_SKIP_WORK"); return e && *e && strcmp(e, "0") != 0; }();
    return s;
}
}  // namespace emu_stats

#define EMU_STAT(group) emu_stats::add(group, __func__)
