// gather (torch.gather) forward and backward, as Ops.Gather (src/Engine/Ops/Indexing.cs).
// index is contiguous int64 (or int32 when index_i32 != 0) of shape `shape` (rank <= 8), the
// output has that shape; x / dx are addressed through `xs` (element strides, any layout).
// where() is the ternary select_f32 in binary.cu.
#include "common.cuh"

// Matches CudaGatherPlan in C# (sequential, 8-byte aligned).
struct GatherPlan
{
    long long shape[8];  // index (and output) shape
    long long xs[8];     // strides of x (forward) or dx (backward), in elements
    int rank;
    int dim;
    long long xdim;      // x.shape[dim]: valid indices are [0, xdim)
};

__device__ __forceinline__ long long load_index(const void* index, int index_i32, unsigned long long i)
{
    return index_i32 ? (long long)((const int*)index)[i] : ((const long long*)index)[i];
}

// y[lin] = x[coords(lin) with coords[dim] = index[lin]]. An out-of-range index writes NaN and is recorded in
// check (check_failed; the host reports it at its next synchronisation).
extern "C" __global__ void gather_f32(const float* x, const void* index, int index_i32, float* y, unsigned long long n, GatherPlan plan,
    unsigned long long* check)
{
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long lin = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; lin < n; lin += stride)
    {
        long long v = load_index(index, index_i32, lin);
        if (v < 0 || v >= plan.xdim) { check_failed(check, lin, check_int_bits(v)); y[lin] = check_nan(); continue; }
        unsigned long long rest = lin;
        long long off = 0;
        for (int d = plan.rank - 1; d >= 0; d--)
        {
            unsigned long long s = (unsigned long long)plan.shape[d];
            long long k = (long long)(rest % s);
            rest /= s;
            off += (d == plan.dim ? v : k) * plan.xs[d];
        }
        y[lin] = x[off];
    }
}

// dx (zeroed by the host) += g scattered by index. One thread per column (all coordinates but dim),
// walking dim in order, so each dx element is only ever touched by one thread, in the CPU's order.
extern "C" __global__ void gather_backward_f32(const float* g, const void* index, int index_i32, float* dx, unsigned long long columns, GatherPlan plan)
{
    unsigned long long len = (unsigned long long)plan.shape[plan.dim], stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long c = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; c < columns; c += stride)
    {
        // Decompose c over the index shape without dim; build the contiguous offset of (coords, dim = 0)
        // in g/index and the dx offset without the dim term.
        unsigned long long rest = c, lin0 = 0, mul = 1, dimStride = 1;
        long long off = 0;
        for (int d = plan.rank - 1; d >= 0; d--)
        {
            unsigned long long s = (unsigned long long)plan.shape[d];
            if (d == plan.dim) { dimStride = mul; mul *= s; continue; }
            unsigned long long k = rest % s;
            rest /= s;
            lin0 += k * mul;
            mul *= s;
            off += (long long)k * plan.xs[d];
        }
        for (unsigned long long j = 0; j < len; j++)
        {
            unsigned long long lin = lin0 + j * dimStride;
            long long v = load_index(index, index_i32, lin);
            if (v >= 0 && v < plan.xdim) dx[off + v * plan.xs[plan.dim]] += g[lin];
        }
    }
}
