// The cepstral step of the MFCC kernels: a scaled DCT-II along each row, computed with a real FFT of the
// same length (Makhoul 1980) in the lane layout, W rows at a time. With v the even-indexed values
// followed by the odd-indexed ones reversed (v[t] = x[2t], v[N-1-t] = x[2t+1]) and V = FFT_N(v):
//   X_k = sum_m x_m cos(pi k (2m + 1) / (2N)) = Re(exp(-i pi k / (2N)) V_k) = cos(pi k/2N) Re V_k + sin(pi k/2N) Im V_k,
// with V_k = conj V_{N-k} above N/2. About N log N work per row instead of the N * n_coef of a matrix
// product (4x fewer flops for 40 mels), and no packing of a GEMM operand per call.
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

internal sealed unsafe class DctLanes
{
    readonly int _n, _coef;
    readonly RealPlan _plan;
    readonly int[] _map;
    readonly float[] _c, _s; // scale_k cos(pi k / 2N), scale_k sin(pi k / 2N), k < coef
    readonly WorkspacePool _pool;

    /// <param name="n">Row length N (the DCT length).</param>
    /// <param name="scale">Per-output factor s_k (length = coefficients kept): ortho norm, lifter.</param>
    public DctLanes(int n, ReadOnlySpan<float> scale)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "DCT length must be >= 1.");
        if (scale.Length < 1 || scale.Length > n) throw new ArgumentException($"Need 1..{n} coefficients, got {scale.Length}.", nameof(scale));
        _n = n; _coef = scale.Length;
        _plan = RealFft.Get(n).Plan;
        _map = new int[n];
        for (int m = 0; m < n; m++) _map[m] = (m & 1) == 0 ? m / 2 : n - 1 - m / 2;
        _c = new float[_coef]; _s = new float[_coef];
        for (int k = 0; k < _coef; k++)
        {
            double a = Math.PI * k / (2.0 * n);
            _c[k] = (float)(scale[k] * Math.Cos(a));
            _s[k] = (float)(scale[k] * Math.Sin(a));
        }
        int coef = _coef;
        _pool = new WorkspacePool(w => _plan.WorkFloats(w) + (long)coef * w + 2L * n + coef + 64);
    }

    /// <summary>Coefficients per row.</summary>
    public int Coefficients => _coef;

    /// <summary>output (rows, coef) = DCT of input rows (rows, N; leading dimension lda).</summary>
    public void Run(float* input, long rows, int lda, float* output, SimdWidth width, int threads)
    {
        var job = new Job { Owner = this, In = input, Lda = lda, Out = output };
        LaneParallel.Run(ref job, rows, _pool, width, threads);
    }

    /// <summary>
    /// As <see cref="Run"/> on rows in the lane layout of MelSpectrogramKernel.RunLanes (same rows, width and threads, so the
    /// same lane groups: the group at sequence position s has its (lda, W) block at input + s*lda, lane l holding frame
    /// frameOf[s + l], whose output row it writes), each value first taken through the clip pass max(v - sub[s + l],
    /// floor[s + l]) (sub and floor: rows + 16 floats, by sequence position; equal for every frame of a clip).
    /// No transposes on the way in.
    /// </summary>
    public void RunLanes(float* input, long rows, int lda, float* sub, float* floor, int* frameOf, float* output, SimdWidth width, int threads)
    {
        var job = new Job { Owner = this, In = input, Lda = lda, Out = output, Sub = sub, Floor = floor, FrameOf = frameOf };
        LaneParallel.Run(ref job, rows, _pool, width, threads);
    }

    struct Job : IRangeJob
    {
        public DctLanes Owner;
        public float* In, Out;
        /// <summary>Set for RunLanes: the per-frame clip pass (In is then in the lane layout).</summary>
        public float* Sub, Floor;
        /// <summary>Set for RunLanes: the frame (output row) of each sequence position.</summary>
        public int* FrameOf;
        public int Lda;
        public long Start { get; set; }
        public long End { get; set; }
        public float* Work { get; set; }

        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged => LaneDispatch.RunRange<Job, TO, TV>(this);

        public readonly void Range<TO, TV>(long start, long end) where TO : struct, IVec<TV> where TV : unmanaged
        {
            var o = Owner;
            int w = TO.Count, n = o._n, coef = o._coef, half = n / 2;
            var plan = o._plan;
            plan.Carve(Work, w, out float* zr, out float* zi, out float* xr, out float* xi, out float* scratch);
            float* res = Work + plan.WorkFloats(w);
            float* zero = res + (nint)coef * w;
            float* dummy = zero + n;
            new Span<float>(zero, n).Clear();
            float** src = stackalloc float*[w];
            float** dst = stackalloc float*[w];
            fixed (int* map = o._map) fixed (float* cs = o._c) fixed (float* sn = o._s)
            {
                for (long g = start; g < end; g += w)
                {
                    for (int l = 0; l < w; l++)
                    {
                        bool live = g + l < end;
                        src[l] = live ? In + (g + l) * Lda : zero;
                        dst[l] = live ? Out + (FrameOf != null ? FrameOf[g + l] : g + l) * coef : dummy;
                    }
                    if (!plan.Split) FftLanes.Zero<TO, TV>(zi, 0, n);
                    if (Floor != null)
                    {
                        // Lane layout: row j of the group's block, through the clip pass, to its reordered position map[j].
                        float* blk = In + g * Lda;
                        TV s = TO.Load(Sub + g), f = TO.Load(Floor + g);
                        for (int j = 0; j < n; j++)
                            TO.Store(FftLanes.Row(map[j], plan.Split, zr, zi, w), TO.Max(TO.Sub(TO.Load(blk + (nint)j * w), s), f));
                    }
                    else FftLanes.Pack<TO, TV>(src, n, null, 0, plan.Split, zr, zi, map);
                    plan.Forward<TO, TV>(zr, zi, xr, xi, scratch);
                    for (int k = 0; k < coef; k++)
                    {
                        // V_k for k > N/2 is conj(V_{N-k}): same real part, negated imaginary part (folded into the sign).
                        bool mirror = k > half;
                        nint r = (nint)(mirror ? n - k : k) * w;
                        TV re = TO.Load(xr + r), im = TO.Load(xi + r);
                        TV s = TO.Splat(mirror ? -sn[k] : sn[k]);
                        TO.Store(res + (nint)k * w, TO.MulAdd(TO.Splat(cs[k]), re, TO.Mul(s, im)));
                    }
                    FftLanes.Store<TO, TV>(res, coef, dst);
                }
            }
        }
    }
}
