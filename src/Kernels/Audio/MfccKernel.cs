// MFCC on spans, as torchaudio.transforms.MFCC computes it: a mel spectrogram (power 2), compressed to
// decibels (AmplitudeToDB("power", top_db=80) per clip, torchaudio's default) or ln(mel + 1e-6)
// (log_mels=True), then the DCT-II along the mel axis (ortho-normalised by default). The compressed mel
// rows of the whole batch are kept in one reused buffer and the DCT is one GEMM over all frames.
using Cochlea.Kernels.Gemm;

namespace Cochlea.Kernels.Audio;

/// <summary>
/// MFCC of a batch: x (B, N) -&gt; output (B, F, n_mfcc) time-major, c[f, j] = sum_m D[j, m] * L[f, m] with L the compressed
/// mel spectrogram and D the DCT-II matrix (<see cref="CreateDct"/>). Thread-safe; no allocation per call once warm.
/// </summary>
public sealed unsafe class MfccKernel
{
    readonly MelSpectrogramKernel _mel;
    readonly float[] _dct;
    readonly ScratchSlot _scratch = new();

    /// <summary>
    /// A kernel from framing, filterbank and compression. torchaudio's MFCC: <paramref name="log"/> =
    /// <see cref="LogCompression.AmplitudeToDb"/>(power: true, topDb: 80) (log_mels=False) or <see cref="LogCompression.Log"/>(1e-6)
    /// (log_mels=True); <paramref name="ortho"/> = norm "ortho". n_mfcc must not exceed n_mels.
    /// </summary>
    public MfccKernel(StftSpec spec, MelFilterbank bank, int nMfcc, LogCompression log, float power = 2f, bool ortho = true)
    {
        ArgumentNullException.ThrowIfNull(bank);
        if (nMfcc < 1 || nMfcc > bank.Mels) throw new ArgumentOutOfRangeException(nameof(nMfcc), nMfcc, $"n_mfcc must be in [1, n_mels = {bank.Mels}].");
        _mel = new MelSpectrogramKernel(spec, bank, power, log);
        _dct = CreateDct(nMfcc, bank.Mels, ortho);
        Coefficients = nMfcc;
    }

    /// <summary>Cepstral coefficients per frame.</summary>
    public int Coefficients { get; }

    /// <summary>The mel stage.</summary>
    public MelSpectrogramKernel Mel => _mel;

    /// <summary>Frames for signals of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _mel.FrameCount(length);

    /// <summary>
    /// DCT-II matrix D (nCoef, nMels) row-major, as torchaudio.functional.create_dct (transposed):
    /// D[j, m] = cos(pi / N * (m + 0.5) * j) * s_j with N = nMels, s_j = sqrt(2/N) (and sqrt(1/N) for j = 0) when ortho, else 2.
    /// </summary>
    public static float[] CreateDct(int nCoef, int nMels, bool ortho = true)
    {
        if (nCoef < 1 || nMels < 1) throw new ArgumentException($"Need nCoef >= 1 and nMels >= 1; got {nCoef}, {nMels}.");
        var d = new float[nCoef * nMels];
        for (int j = 0; j < nCoef; j++)
        {
            double s = ortho ? (j == 0 ? Math.Sqrt(1.0 / nMels) : Math.Sqrt(2.0 / nMels)) : 2.0;
            for (int m = 0; m < nMels; m++) d[j * nMels + m] = (float)(Math.Cos(Math.PI / nMels * (m + 0.5) * j) * s);
        }
        return d;
    }

    /// <summary>x (batch, N) -&gt; output (batch, F, n_mfcc).</summary>
    public void Run(ReadOnlySpan<float> x, int batch, Span<float> output, SimdWidth? width = null, int threads = 0)
    {
        int n = StftKernel.CheckInput(x, batch);
        long rows = (long)batch * _mel.FrameCount(n);
        if (output.Length < rows * Coefficients)
            throw new ArgumentException($"output has {output.Length} floats, expected at least batch*frames*n_mfcc = {rows * Coefficients}.", nameof(output));
        var buf = _scratch.Take(rows * _mel.RowFloats);
        try
        {
            var mel = new Span<float>(buf.Ptr, checked((int)(rows * _mel.RowFloats)));
            _mel.Run(x, batch, mel, width, threads);
            fixed (float* d = _dct) fixed (float* o = output)
                Cepstrum.Apply(buf.Ptr, rows, _mel.RowFloats, d, Coefficients, _mel.Mels, o, width, threads);
        }
        finally { _scratch.Give(buf); }
    }
}

/// <summary>The DCT step shared by the MFCC kernels: out (rows, nCoef) = L (rows, nMels; leading dimension lda) x D^T.</summary>
internal static unsafe class Cepstrum
{
    public static void Apply(float* logMel, long rows, int lda, float* dct, int nCoef, int nMels, float* output, SimdWidth? width, int threads)
    {
        if (rows == 0) return;
        Sgemm.Run(false, true, checked((int)rows), nCoef, nMels, 1f, logMel, lda, dct, nMels, 0f, output, nCoef,
            StftKernel.Resolve(width), StftKernel.Threads(threads));
    }
}
