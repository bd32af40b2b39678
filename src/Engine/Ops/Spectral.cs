// Spectral ops: the STFT of a waveform batch as a recorded op, with complex results stored as (..., 2)
// (re, im) pairs (torch.view_as_real's layout), and the polar parts of such tensors: |z| and angle(z).
// FreesoundCnn's front end is log1p(complex_abs(stft(x))) and angle(stft(x)) / pi.
//   stft         x (B, N) -> (B, F, bins, 2), bins = n_fft/2 + 1, unnormalised (torch.fft.rfft of the windowed frames)
//   complex_abs  z (..., 2) -> (...)   sqrt(re^2 + im^2)
//   angle        z (..., 2) -> (...)   atan2(im, re) in (-pi, pi] (torch.angle; 0 at z = 0)
using Cochlea.Autograd;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Threading;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>
    /// Short-time Fourier transform of x (B, N) with the framing of <paramref name="kernel"/>'s spec (not centred:
    /// tf.signal.stft or python_speech_features framing): X[b, f, k] = sum_t w[t] x[b, f*hop + t] e^{-2 pi i (off + t) k / n_fft}
    /// -> (B, F, n_fft/2 + 1, 2), the last axis (re, im). Differentiable in x (the backward is the adjoint DFT as one GEMM
    /// per clip, then overlap-add).
    /// </summary>
    public static Tensor Stft(Tensor x, StftKernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        RequireFloat(x, "stft");
        var spec = kernel.Spec;
        if (spec.Center)
            throw new ArgumentException("stft: centred framing (torch.stft center=True) is not supported by the op; use a non-centred spec (StftSpec.TensorFlow).");
        if (x.Rank != 2) throw new ArgumentException($"stft: expected x (B, N), got {x.Describe()}.");
        int b = x.Size(0), n = x.Size(1), frames = spec.FrameCount(n), bins = spec.Bins;
        if (frames == 0)
            throw new ArgumentException($"stft: {n} samples make no frame (frame length {spec.FrameLength}); pad the signal.");
        if (!x.Device.IsCpu) return StftCuda(x, spec, b, n, frames);
        var y = Tensor.Empty(b, frames, bins, 2);
        using (var xc = x.ContiguousRaw())
            kernel.Complex(new ReadOnlySpan<float>(xc.DataPtr, checked(b * n)), b, new Span<float>(y.DataPtr, checked((int)y.Numel)));
        return BackwardPass.Record(y, "stft", [x], g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = Tensor.Zeros(b, n);
            int len = spec.FrameLength, hop = spec.Hop, off = spec.WindowOffset;
            var basis = StftAdjointBasis(spec);
            using var frameGrads = Tensor.Empty(frames, len);
            float* pg = gc.DataPtr, pdx = dx.DataPtr, pf = frameGrads.DataPtr;
            fixed (float* pb = basis)
                for (int i = 0; i < b; i++)
                {
                    // dframes (F, L) = G_i (F, 2 bins) x basis (2 bins, L), then overlap-add into dx_i.
                    Sgemm.Run(false, false, frames, len, 2 * bins, 1f, pg + (long)i * frames * 2 * bins, 2 * bins, pb, len, 0f, pf, len);
                    float* row = pdx + (long)i * n;
                    for (int f = 0; f < frames; f++)
                    {
                        long start = (long)f * hop + off;
                        int count = (int)Math.Min(len, n - start);   // python_speech_features framing pads past the end
                        for (int t = 0; t < count; t++) row[start + t] += pf[(long)f * len + t];
                    }
                }
            return [dx];
        });
    }

    // basis[2k, t] = w[t] cos(2 pi k (off + t) / n_fft), basis[2k + 1, t] = -w[t] sin(...): Re_k = basis[2k] . frame,
    // Im_k = basis[2k + 1] . frame, so d frame = G^T-row x basis. Angles reduced mod n_fft in integers, then double trig.
    static float[] StftAdjointBasis(StftSpec spec)
    {
        int bins = spec.Bins, len = spec.FrameLength, nfft = spec.FftSize, off = spec.WindowOffset;
        var w = spec.Window;
        var basis = new float[2 * bins * len];
        for (int k = 0; k < bins; k++)
            for (int t = 0; t < len; t++)
            {
                long m = (((long)k * (off + t)) % nfft + nfft) % nfft;
                var (cos, sin) = UnitCircle(m, nfft);
                basis[2 * k * len + t] = cos == 0 ? 0f : (float)(w[t] * cos);
                basis[(2 * k + 1) * len + t] = sin == 0 ? 0f : (float)(-w[t] * sin);
            }
        return basis;
    }

    // (cos, sin) of 2 pi m / n, exact at multiples of pi/2: the sine rows of the DC and Nyquist bins must be exactly
    // zero (a real frame's DFT has no imaginary part there, as the CPU FFT gives), since sin(pi) = 1.2e-16 in double
    // left Im = +-1e-16 on the GPU's GEMM STFT and flipped angle() between +pi and -pi against the CPU.
    static (double Cos, double Sin) UnitCircle(long m, int n)
    {
        if (4 * m % n == 0)
            return (4 * m / n) switch { 0 => (1, 0), 1 => (0, 1), 2 => (-1, 0), _ => (0, -1) };
        double a = 2 * Math.PI * m / n;
        return (Math.Cos(a), Math.Sin(a));
    }

    /// <summary>|z| = sqrt(re^2 + im^2) of a complex tensor stored as (..., 2) pairs -> (...). The gradient is z / |z| (0 at z = 0, as torch).</summary>
    public static Tensor ComplexAbs(Tensor z) => Polar(z, angle: false, "complex_abs");

    /// <summary>angle(z) = atan2(im, re) in (-pi, pi] of a complex tensor stored as (..., 2) pairs -> (...) (torch.angle). The gradient is (-im, re) / |z|^2 (0 at z = 0).</summary>
    public static Tensor Angle(Tensor z) => Polar(z, angle: true, "angle");

    static Tensor Polar(Tensor z, bool angle, string name)
    {
        RequireFloat(z, name);
        if (z.Rank < 1 || z.Size(-1) != 2) throw new ArgumentException($"{name}: expected a complex tensor (..., 2) of (re, im) pairs, got {z.Describe()}.");
        if (!z.Device.IsCpu) return PolarCuda(z, angle, name);
        var shape = z.ShapeArray[..^1];
        var y = Tensor.Empty(shape);
        long count = y.Numel;
        using (var zc = z.ContiguousRaw())
        {
            float* pz = zc.DataPtr, py = y.DataPtr;
            ParallelElements(count, (lo, hi) =>
            {
                if (angle) for (long i = lo; i < hi; i++) py[i] = MathF.Atan2(pz[2 * i + 1], pz[2 * i]);
                else for (long i = lo; i < hi; i++) { float re = pz[2 * i], im = pz[2 * i + 1]; py[i] = MathF.Sqrt(re * re + im * im); }
            });
        }
        return BackwardPass.Record(y, name, [z], g =>
        {
            using var gc = g.ContiguousRaw();
            using var zs = z.ContiguousRaw();
            var dz = Tensor.Empty(z.ShapeArray);
            float* pg = gc.DataPtr, pz = zs.DataPtr, pd = dz.DataPtr;
            ParallelElements(count, (lo, hi) =>
            {
                for (long i = lo; i < hi; i++)
                {
                    float re = pz[2 * i], im = pz[2 * i + 1], r2 = re * re + im * im;
                    if (r2 == 0) { pd[2 * i] = 0; pd[2 * i + 1] = 0; continue; }
                    if (angle) { float s = pg[i] / r2; pd[2 * i] = -im * s; pd[2 * i + 1] = re * s; }
                    else { float s = pg[i] / MathF.Sqrt(r2); pd[2 * i] = re * s; pd[2 * i + 1] = im * s; }
                }
            });
            return [dz];
        });
    }

    // Splits [0, count) over the kernel threads in fixed chunks (elementwise, so the result does not depend on the split).
    static void ParallelElements(long count, Action<long, long> body)
    {
        const int Block = 4096;
        int blocks = (int)((count + Block - 1) / Block);
        if (blocks <= 1) { body(0, count); return; }
        KernelThreads.For(blocks, 4, (b0, b1) => body((long)b0 * Block, Math.Min(count, (long)b1 * Block)));
    }
}
