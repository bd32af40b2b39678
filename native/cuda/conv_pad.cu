// Explicit zero padding for convolutions cuDNN cannot express (asymmetric 'same' padding): the input is
// padded into a larger buffer, the convolution runs unpadded, and backward crops the input gradient back.
// All grid-stride loops over the OUTPUT elements, so every element is written exactly once.

// x (planes, h, w) -> y (planes, oh, ow): y[p, i, j] = x[p, i - top, j - left] inside x, else 0.
extern "C" __global__ void conv_pad2d_f32(const float* __restrict__ x, float* __restrict__ y,
                                          long long planes, int h, int w, int top, int left, int oh, int ow)
{
    long long total = planes * oh * ow;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        int c = (int)(i % ow);
        long long r = i / ow;
        int rr = (int)(r % oh);
        long long p = r / oh;
        int sr = rr - top, sc = c - left;
        y[i] = (sr >= 0 && sr < h && sc >= 0 && sc < w) ? x[(p * h + sr) * w + sc] : 0.0f;
    }
}

// The adjoint: y (planes, oh, ow) -> x (planes, h, w): x[p, i, j] = y[p, i + top, j + left].
extern "C" __global__ void conv_crop2d_f32(const float* __restrict__ y, float* __restrict__ x,
                                           long long planes, int h, int w, int top, int left, int oh, int ow)
{
    long long total = planes * h * w;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        int c = (int)(i % w);
        long long r = i / w;
        int rr = (int)(r % h);
        long long p = r / h;
        x[i] = y[(p * oh + rr + top) * ow + c + left];
    }
}
