// concat and constant pad on contiguous float32 tensors, as Ops.Concat / Ops.Pad
// (src/Engine/Ops/Joining.cs). The backward rules are slices, made contiguous by the runtime's copy kernels.

// One input of a concat along an axis: src (outer, len * inner) contiguous goes to
// dst (outer, total * inner) at column offset at * inner; cols = len * inner, dst_cols = total * inner.
extern "C" __global__ void concat_copy_f32(const float* src, float* dst, unsigned long long outer,
    unsigned long long cols, unsigned long long dst_cols, unsigned long long dst_offset)
{
    unsigned long long n = outer * cols, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += stride)
    {
        unsigned long long o = e / cols, k = e - o * cols;
        dst[o * dst_cols + dst_offset + k] = src[e];
    }
}

// Matches CudaPadPlan in C# (sequential, 8-byte aligned).
struct PadPlan
{
    long long shape[8];   // y shape (contiguous)
    long long before[8];  // pad before each dim (negative crops)
    long long xshape[8];  // x shape
    long long xs[8];      // x strides in elements
    int rank;
};

// y[c] = x[c - before] where that lies inside x, else value. Handles cropping (negative pads) too.
extern "C" __global__ void pad_f32(const float* x, float* y, unsigned long long n, PadPlan plan, float value)
{
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += stride)
    {
        unsigned long long rest = e;
        long long off = 0;
        bool inside = true;
        for (int d = plan.rank - 1; d >= 0; d--)
        {
            unsigned long long s = (unsigned long long)plan.shape[d];
            long long k = (long long)(rest % s) - plan.before[d];
            rest /= s;
            if (k < 0 || k >= plan.xshape[d]) inside = false;
            off += k * plan.xs[d];
        }
        y[e] = inside ? x[off] : value;
    }
}
