// Spectral ops around a cuBLAS GEMM: the STFT is framing (here) + frames (B*F, L) x basis^T (L, 2*bins), the
// window and the one-sided DFT folded into the basis; its backward is a GEMM back to frames + overlap-add (here).
// complex_abs / angle on (..., 2) (re, im) pairs and their gradients (0 at z = 0, as torch).

// x (B, N) -> frames (B, F, L): frames[b, f, t] = x[b, f*hop + off + t], 0 past the end (python_speech_features pads).
extern "C" __global__ void stft_frames_f32(const float* __restrict__ x, float* __restrict__ frames, int batch, int n,
                                           int nframes, int len, int hop, int off)
{
    long long total = (long long)batch * nframes * len;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        int t = (int)(i % len);
        long long r = i / len;
        int f = (int)(r % nframes);
        long long b = r / nframes;
        long long s = (long long)f * hop + off + t;
        frames[i] = (s >= 0 && s < n) ? x[b * n + s] : 0.0f;
    }
}

// The adjoint of stft_frames_f32, as a gather (deterministic, no atomics): dframes (B, F, L) -> dx (B, N),
// dx[b, s] = sum over frames f covering s of dframes[b, f, s - f*hop - off].
extern "C" __global__ void stft_overlap_add_f32(const float* __restrict__ dframes, float* __restrict__ dx, int batch, int n,
                                                int nframes, int len, int hop, int off)
{
    long long total = (long long)batch * n;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
    {
        int s = (int)(i % n);
        long long b = i / n;
        int rel = s - off;                       // rel - f*hop must lie in [0, len)
        int fmax = rel < 0 ? -1 : rel / hop;     // last frame starting at or before rel
        if (fmax > nframes - 1) fmax = nframes - 1;
        float acc = 0.0f;
        for (int f = fmax; f >= 0; f--)
        {
            int t = rel - f * hop;
            if (t >= len) break;
            acc += dframes[(b * nframes + f) * len + t];
        }
        dx[i] = acc;
    }
}

// z (count, 2) -> y (count): |z| (angle == 0) or atan2(im, re) (angle != 0).
extern "C" __global__ void complex_polar_forward_f32(const float* __restrict__ z, float* __restrict__ y, long long count, int angle)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < count; i += (long long)gridDim.x * blockDim.x)
    {
        float re = z[2 * i], im = z[2 * i + 1];
        y[i] = angle ? atan2f(im, re) : sqrtf(re * re + im * im);
    }
}

// g (count), z (count, 2) -> dz (count, 2): |z|' = z / |z|, angle' = (-im, re) / |z|^2, both 0 at z = 0.
extern "C" __global__ void complex_polar_backward_f32(const float* __restrict__ g, const float* __restrict__ z, float* __restrict__ dz,
                                                      long long count, int angle)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < count; i += (long long)gridDim.x * blockDim.x)
    {
        float re = z[2 * i], im = z[2 * i + 1], r2 = re * re + im * im;
        float a = 0.0f, b = 0.0f;
        if (r2 != 0.0f)
        {
            if (angle) { float s = g[i] / r2; a = -im * s; b = re * s; }
            else { float s = g[i] / sqrtf(r2); a = re * s; b = im * s; }
        }
        dz[2 * i] = a; dz[2 * i + 1] = b;
    }
}
