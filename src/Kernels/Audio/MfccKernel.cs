// MFCC on spans, as torchaudio.transforms.MFCC computes it: a mel spectrogram (power 2), compressed to
// decibels (AmplitudeToDB("power", top_db=80) per clip, torchaudio's default) or ln(mel + 1e-6)
// (log_mels=True), then the DCT-II along the mel axis (ortho-normalised by default). The compressed mel
// rows of the whole batch are kept in one reused buffer in the lane layout (the per-clip top_db clamp needs
// the whole clip before any DCT), then the DCT runs over the same lane groups with a real FFT per row
// (DctLanes), the clamp applied as the rows are read.

namespace Cochlea.Kernels.Audio;

/// <summary>
/// MFCC of a batch: x (B, N) -&gt; output (B, F, n_mfcc) time-major, c[f, j] = sum_m D[j, m] * L[f, m] with L the compressed
/// mel spectrogram and D the DCT-II matrix (<see cref="CreateDct"/>). Thread-safe; no allocation per call once warm.
/// </summary>
public sealed unsafe class MfccKernel
{
    readonly MelSpectrogramKernel _mel;
    readonly DctLanes _dct;
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
        _dct = new DctLanes(bank.Mels, DctScale(nMfcc, bank.Mels, ortho));
        Coefficients = nMfcc;
    }

    /// <summary>Cepstral coefficients per frame.</summary>
    public int Coefficients { get; }

    /// <summary>The mel stage.</summary>
    public MelSpectrogramKernel Mel => _mel;

    /// <summary>Frames for signals of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _mel.FrameCount(length);

    /// <summary>The factor s_j of <see cref="CreateDct"/> for each kept coefficient.</summary>
    internal static float[] DctScale(int nCoef, int nMels, bool ortho)
    {
        var s = new float[nCoef];
        for (int j = 0; j < nCoef; j++) s[j] = (float)(ortho ? (j == 0 ? Math.Sqrt(1.0 / nMels) : Math.Sqrt(2.0 / nMels)) : 2.0);
        return s;
    }

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
        int frames = _mel.FrameCount(n), row = _mel.RowFloats;
        long rows = (long)batch * frames;
        if (output.Length < rows * Coefficients)
            throw new ArgumentException($"output has {output.Length} floats, expected at least batch*frames*n_mfcc = {rows * Coefficients}.", nameof(output));
        if (rows == 0) return;
        var w = StftKernel.Resolve(width);
        int t = StftKernel.Threads(threads);
        // The mel rows stay in the lane layout between the two stages (no transposes out of the mel stage and back into the
        // DCT's): mel blocks (rows + 16 slack, row), then per sequence position (see RunLanes) its lane's max, the clip pass's
        // subtrahend and floor, and its frame (int).
        long slack = rows + 16;
        var buf = _scratch.Take(slack * row + 4 * slack);
        try
        {
            float* mel = buf.Ptr, frameMax = mel + slack * row, sub = frameMax + slack, floor = sub + slack;
            int* frameOf = (int*)(floor + slack);
            new Span<float>(frameMax, checked((int)(3 * slack))).Clear();
            fixed (float* px = x) _mel.RunLanes(px, batch, n, mel, frameMax, frameOf, w, t);
            ClipPass(frameMax, batch, frames, sub, floor);
            fixed (float* o = output) _dct.RunLanes(mel, rows, row, sub, floor, frameOf, o, w, t);
        }
        finally { _scratch.Give(buf); }
    }

    /// <summary>
    /// Per frame, Decibel.FinishClip as max(v - sub, floor): sub = the clip max when the reference is the max (else 0), floor =
    /// (clip max - sub) - top_db when top_db is set (else -inf). Without a clip pass: sub 0, floor -inf. Indexed by sequence
    /// position: clip b's positions [b*F, (b+1)*F) hold its frames (lane blocks permute frames only within a clip).
    /// </summary>
    void ClipPass(float* frameMax, int batch, int frames, float* sub, float* floor)
    {
        var log = _mel.Log;
        for (int b = 0; b < batch; b++)
        {
            float max = float.NegativeInfinity;
            for (int f = 0; f < frames; f++) max = Math.Max(max, frameMax[(long)b * frames + f]);
            float s = log.NeedsClipPass && log.ReferenceIsMax ? max : 0f;
            float lo = log.NeedsClipPass && log.TopDb is float top ? (log.ReferenceIsMax ? 0f : max) - top : float.NegativeInfinity;
            for (int f = 0; f < frames; f++) { sub[(long)b * frames + f] = s; floor[(long)b * frames + f] = lo; }
        }
    }
}
