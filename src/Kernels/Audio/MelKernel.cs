// Batched (log-)mel spectrogram on spans: STFT frames -> |X|^power (times a scale) -> sparse mel
// filterbank (by the pairwise walk of MelPairSchedule where the bank allows it) -> log compression, all
// inside the lane pipeline (one pass over each frame's spectrum, nothing but the final mel row leaves
// cache), then the per-clip decibel pass (ref = max, top_db).
// Optionally also the frame's total energy sum_k scale*|X_k|^2 as an extra column (python_speech_features'
// appendEnergy), compressed the same way.
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>
/// Mel spectrogram of a batch of equal-length signals: x (B, N) -&gt; output (B, F, n_mels) time-major with
/// mel[m] = C(sum_k W[m, k] * scale * |X_k|^power), C the <see cref="LogCompression"/>. torchaudio.transforms.MelSpectrogram
/// is power = 2 with no compression; AmplitudeToDB / librosa.power_to_db on top is <see cref="LogCompression.PowerToDb"/>.
/// Thread-safe; no allocation per call.
/// </summary>
public sealed unsafe class MelSpectrogramKernel
{
    readonly RealPlan _plan;
    readonly WorkspacePool _pool;
    readonly bool _energy;
    readonly MelPairStep[]? _steps;
    readonly int[] _empty;

    /// <summary>
    /// A kernel for the framing <paramref name="spec"/> and filterbank <paramref name="bank"/> (its bins must equal the
    /// spec's n_fft/2+1). <paramref name="power"/> is 1 (magnitude) or 2 (power); <paramref name="powerScale"/> multiplies
    /// |X|^power (python_speech_features uses 1/nfft); <paramref name="log"/> defaults to none.
    /// </summary>
    public MelSpectrogramKernel(StftSpec spec, MelFilterbank bank, float power = 2f, LogCompression? log = null, float powerScale = 1f)
        : this(spec, bank, power, log, powerScale, appendEnergy: false) { }

    // pairSchedule false keeps the one-chain loop for any bank (the tests and `lab features pairs` compare the two).
    internal MelSpectrogramKernel(StftSpec spec, MelFilterbank bank, float power, LogCompression? log, float powerScale, bool appendEnergy, bool pairSchedule = true)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Bank = bank ?? throw new ArgumentNullException(nameof(bank));
        if (bank.Bins != spec.Bins) throw new ArgumentException($"The filterbank spans {bank.Bins} bins but n_fft {spec.FftSize} gives {spec.Bins}.", nameof(bank));
        if (power != 1f && power != 2f) throw new ArgumentOutOfRangeException(nameof(power), power, "power must be 1 (magnitude) or 2 (power).");
        if (!(powerScale > 0) || !float.IsFinite(powerScale)) throw new ArgumentOutOfRangeException(nameof(powerScale), powerScale, "powerScale must be a positive finite number.");
        Log = log ?? LogCompression.None;
        Log.Validate();
        Power = power;
        PowerScale = powerScale;
        _energy = appendEnergy;
        _empty = [];
        if (pairSchedule) _steps = MelPairSchedule.TryCreate(bank, out _empty);
        _plan = RealFft.Get(spec.FftSize).Plan;
        int bins = spec.Bins, rows = RowFloats;
        _pool = new WorkspacePool(w => StftEngine.WorkFloats(spec, _plan, w, (long)(bins + rows) * w, rows));
    }

    /// <summary>The framing.</summary>
    public StftSpec Spec { get; }
    /// <summary>The filterbank.</summary>
    public MelFilterbank Bank { get; }
    /// <summary>1 or 2.</summary>
    public float Power { get; }
    /// <summary>Factor on |X|^power.</summary>
    public float PowerScale { get; }
    /// <summary>The compression.</summary>
    public LogCompression Log { get; }
    /// <summary>Mel bands per frame.</summary>
    public int Mels => Bank.Mels;
    /// <summary>Floats per output frame (n_mels, plus one when the energy column is appended).</summary>
    public int RowFloats => Bank.Mels + (_energy ? 1 : 0);
    /// <summary>True when the bank passed the pairwise check and the products run by <see cref="MelPairSchedule"/>.</summary>
    internal bool HasPairSchedule => _steps != null;
    /// <summary>Frames for signals of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => Spec.FrameCount(length);

    /// <summary>
    /// x (batch, N) -&gt; output (batch, F, n_mels). Runs at <paramref name="width"/> (default best) on at most
    /// <paramref name="threads"/> threads (0: KernelThreads.Count).
    /// </summary>
    public void Run(ReadOnlySpan<float> x, int batch, Span<float> output, SimdWidth? width = null, int threads = 0)
    {
        int n = StftKernel.CheckInput(x, batch);
        int frames = Spec.FrameCount(n), row = RowFloats;
        long need = (long)batch * frames * row;
        if (output.Length < need) throw new ArgumentException($"output has {output.Length} floats, expected at least batch*frames*{row} = {need} (frames = {frames} for N = {n}).", nameof(output));
        fixed (float* px = x) fixed (float* po = output) Execute(px, batch, n, po, null, null, width, threads);
        if (Log.NeedsClipPass)
            for (int b = 0; b < batch; b++) Decibel.FinishClip(output.Slice(b * frames * row, frames * row), Log);
    }

    /// <summary>
    /// For MfccKernel: x (batch, n), validated by the caller. As <see cref="Run"/>, but each lane group keeps its compressed
    /// mel rows in the lane layout: the group at sequence position s (<see cref="LaneGroup.Seq"/>) writes its (RowFloats, W)
    /// block at output + s*RowFloats (so output needs (W-1)*RowFloats floats of slack past the last frame), frameOf[s + l]
    /// receives the frame of its lane l (b*F + f; s + l itself unless the group is part of a lane block) and frameMax[s + l]
    /// that lane's largest value. A lane block permutes frames [g, g + K*W) of one clip among the sequence positions
    /// [g, g + K*W), so frameMax by position gives the same per-clip maxima. The clip pass (top_db, ref = max) is left to the
    /// caller, which applies it on the way into the DCT.
    /// </summary>
    internal void RunLanes(float* x, int batch, int n, float* output, float* frameMax, int* frameOf, SimdWidth width, int threads)
        => Execute(x, batch, n, output, frameMax, frameOf, width, threads);

    void Execute(float* x, int batch, int n, float* output, float* frameMax, int* frameOf, SimdWidth? width, int threads)
    {
        fixed (int* st = Bank.Start) fixed (int* of = Bank.Offset) fixed (int* ln = Bank.Length) fixed (float* vals = Bank.Values)
        fixed (MelPairStep* steps = _steps) fixed (int* empty = _empty)
        {
            var sink = new MelSink
            {
                Bins = Spec.Bins, Mels = Bank.Mels, Start = st, Offset = of, Len = ln, Values = vals,
                Steps = _steps != null ? steps : null, StepCount = _steps?.Length ?? 0, Empty = empty, EmptyCount = _empty.Length,
                Magnitude = Power == 1f, Scale = PowerScale, Energy = _energy,
                Kind = Log.Kind, Offset0 = Log.Offset, DbScale = (float)(Log.Multiplier / Math.Log(10)), DbRef = Log.ReferenceDb, Amin = Log.Amin,
                FastDb = Log.Amin >= 1.17549435e-38f, // smallest normal float
                Base = output, FrameMax = frameMax, FrameOf = frameOf, Total = (long)batch * Spec.FrameCount(n),
            };
            StftEngine.Run(Spec, _plan, _pool, x, batch, n, output, sink, StftKernel.Resolve(width), StftKernel.Threads(threads));
        }
    }

    struct MelSink : IFrameSink
    {
        public int Bins, Mels;
        public int* Start, Offset, Len;
        public float* Values;
        /// <summary>The pairwise walk (null: the bank fails its check, the one-chain loop runs) and the filters with no weights.</summary>
        public MelPairStep* Steps;
        public int* Empty;
        public int StepCount, EmptyCount;
        public bool Magnitude, Energy;
        public float Scale;
        public LogKind Kind;
        public float Offset0, DbScale, DbRef, Amin;
        public bool FastDb;
        /// <summary>Lane-layout output (RunLanes) when FrameMax is set: the output base, each position's frame, and the frame count.</summary>
        public float* Base, FrameMax;
        public int* FrameOf;
        public long Total;

        public readonly int RowFloats => Mels + (Energy ? 1 : 0);
        public readonly long WorkFloats(int w) => (long)(Bins + RowFloats) * w;
        public readonly bool PowerOnly => true;

        public readonly void Consume<TO, TV>(float* xr, float* xi, float** dst, float* work, LaneGroup group) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            // RunLanes: the mel rows are computed straight into the group's block of the output.
            float* p = work, mel = FrameMax != null ? Base + group.Seq * RowFloats : work + (nint)Bins * w;
            TV scale = TO.Splat(Scale), energy = TO.Splat(0f);
            // xr holds |X|^2 (PowerOnly). Scaling, energy and sqrt only when asked for: the common power-2,
            // scale-1 case reads the power rows in place.
            if (Scale != 1f || Energy || Magnitude)
                for (int k = 0; k < Bins; k++)
                {
                    nint o = (nint)k * w;
                    TV v = TO.Mul(TO.Load(xr + o), scale);
                    if (Energy) energy = TO.Add(energy, v);
                    if (Magnitude) v = LaneMath.Sqrt<TO, TV>(v);
                    TO.Store(p + o, v);
                }
            else p = xr;
            // The products first (raw sums into the mel rows), then the compression as a pass of its own: the products are a
            // latency-bound walk, the logs independent rows that keep the vector units busy (measured in FEATURES.md).
            if (Steps != null) PairProducts<TO, TV>(p, mel);
            else ChainProducts<TO, TV>(p, mel);
            if (Energy) TO.Store(mel + (nint)Mels * w, energy);
            CompressRows<TO, TV>(mel, RowFloats);
            if (FrameMax != null) LaneMax<TO, TV>(mel, group);
            else FftLanes.Store<TO, TV>(mel, RowFloats, dst);
        }

        /// <summary>
        /// The sparse filterbank, one dependent chain per mel (any bank): each filter is one run of weights; splat weight x lane
        /// row of the spectrum p (Bins, W) -&gt; mel (Mels, W).
        /// </summary>
        readonly void ChainProducts<TO, TV>(float* p, float* mel) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            for (int m = 0; m < Mels; m++)
            {
                TV acc = TO.Splat(0f);
                float* wv = Values + Offset[m];
                float* src = p + (nint)Start[m] * w;
                for (int k = 0, len = Len[m]; k < len; k++) acc = TO.MulAdd(TO.Splat(wv[k]), TO.Load(src + (nint)k * w), acc);
                TO.Store(mel + (nint)m * w, acc);
            }
        }

        /// <summary>
        /// The same products by the <see cref="MelPairSchedule"/> walk: p (Bins, W) -&gt; mel (Mels, W). Mel m's partial over the
        /// bins it shares with mel m-1 comes in as carry; the shared bins of m and m+1 load each row once for both chains.
        /// </summary>
        readonly void PairProducts<TO, TV>(float* p, float* mel) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            TV carry = TO.Splat(0f);
            for (int i = 0; i < StepCount; i++)
            {
                MelPairStep s = Steps[i];
                TV a = carry, b = TO.Splat(0f);
                float* src = p + (nint)s.Bin * w, wa = Values + s.W, wb = Values + s.NextW;
                for (int k = 0; k < s.Solo; k++, src += w) a = TO.MulAdd(TO.Splat(wa[k]), TO.Load(src), a);
                wa += s.Solo;
                for (int k = 0; k < s.Pair; k++, src += w)
                {
                    TV x = TO.Load(src);
                    a = TO.MulAdd(TO.Splat(wa[k]), x, a);
                    b = TO.MulAdd(TO.Splat(wb[k]), x, b);
                }
                TO.Store(mel + (nint)s.Mel * w, a);
                carry = b;
            }
            for (int i = 0; i < EmptyCount; i++) TO.Store(mel + (nint)Empty[i] * w, TO.Splat(0f));
        }

        /// <summary>
        /// RunLanes, for the live lanes l of the group at mel (= Base + s*row, s = group.Seq): frameMax[s + l] = max over the
        /// block's rows of lane l, frameOf[s + l] = the lane's frame.
        /// </summary>
        readonly void LaneMax<TO, TV>(float* mel, LaneGroup group) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count, row = RowFloats;
            TV mx = TO.Load(mel);
            for (int r = 1; r < row; r++) mx = TO.Max(mx, TO.Load(mel + (nint)r * w));
            float* lanes = stackalloc float[w];
            TO.Store(lanes, mx);
            long s = group.Seq;
            for (int l = 0; l < w && s + l < Total; l++)
            {
                FrameMax[s + l] = lanes[l];
                FrameOf[s + l] = (int)(group.First + (long)group.Stride * l);
            }
        }

        /// <summary>
        /// The compression of rows (rows, W) in place, after the products: one loop per kind with its constants in registers
        /// (read from the sink once, not per row), every row an independent chain.
        /// </summary>
        readonly void CompressRows<TO, TV>(float* rows, int count) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            float* end = rows + (nint)count * w;
            switch (Kind)
            {
                case LogKind.Ln:
                {
                    TV offset = TO.Splat(Offset0);
                    for (float* r = rows; r < end; r += w) TO.Store(r, VectorMath.Log<TO, TV>(TO.Add(TO.Load(r), offset)));
                    break;
                }
                case LogKind.LnZeroFloor:
                {
                    TV floor = TO.Splat(Offset0), zero = TO.Splat(0f);
                    for (float* r = rows; r < end; r += w)
                    {
                        TV v = TO.Load(r);
                        TO.Store(r, VectorMath.Log<TO, TV>(TO.Select(TO.Eq(v, zero), floor, v)));
                    }
                    break;
                }
                case LogKind.Decibel:
                {
                    TV amin = TO.Splat(Amin), scale = TO.Splat(DbScale), negRef = TO.Splat(-DbRef);
                    // max(v, amin) is positive and normal (amin >= 2^-126 is checked), so the lean log applies.
                    if (FastDb)
                        for (float* r = rows; r < end; r += w) TO.Store(r, TO.MulAdd(LaneMath.LogPositive<TO, TV>(TO.Max(TO.Load(r), amin)), scale, negRef));
                    else
                        for (float* r = rows; r < end; r += w) TO.Store(r, TO.MulAdd(VectorMath.Log<TO, TV>(TO.Max(TO.Load(r), amin)), scale, negRef));
                    break;
                }
            }
        }
    }
}
