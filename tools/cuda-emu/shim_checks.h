// What the kernels' device-side input checks need (common.cuh: check_failed): a 64-bit atomicMax (atomic across
// the threads shim's std::threads too) and the float bit cast. Included by shim_serial.h and shim_threads.h;
// host-libs/kernel_runtime.h has its own.
#pragma once
static inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v)
{
    unsigned long long o = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > o && !__atomic_compare_exchange_n(p, &o, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) { }
    return o;
}
static inline unsigned int __float_as_uint(float f) { unsigned int v; memcpy(&v, &f, 4); return v; }
