// One convolution shape on cuDNN: its descriptors, and for each pass the algorithm found once by
// cudnnFind*AlgorithmEx (timed trials on the real buffers, fastest successful one kept) with the workspace it needs,
// taken from the device's cached workspace (one per device, not per shape: an evicted shape holds no device memory).
// Cached per device by ConvKey (CudaDevice.Convolution, least recently used shapes dropped and disposed). An algorithm runs
// with the math type its search reported: the key's (CudaOptions.AllowTf32, part of the key) on the descriptor the
// search used, any other on a descriptor made once with it. So no call sets a math type (that was 80
// cudnnSetConvolutionMathType calls per WaveKws step) and a pass on another thread never sees it changed.
// The search's time for the chosen algorithm is kept (SearchMilliseconds), and for a depthwise shape under
// CudaOptions.DepthwiseKernels.Auto so is the verdict of timing our kernel against it (OwnDepthwise, Ops.ConvCuda).
namespace Cochlea.Cuda.Cudnn;

internal sealed unsafe class CudnnConvolution : IDisposable
{
    const int MaxAlgorithms = 16;

    readonly ConvKey _key;
    readonly CudnnTensorDescriptor _x, _y, _bias;
    readonly CudnnFilterDescriptor _w;
    readonly CudnnConvolutionDescriptor _conv;   // the key's math type; the searches run on it
    readonly CudnnConvolutionDescriptor?[] _otherMath = new CudnnConvolutionDescriptor?[4];   // by cudnnMathType_t, made on demand
    readonly ConvAlgoChoice?[] _choices = new ConvAlgoChoice?[3];   // by ConvPass, searched on the pass's first call
    readonly bool?[] _ownDepthwise = new bool?[3];   // by ConvPass: DepthwiseKernels.Auto's choice, null until timed

    /// <summary>The time cuDNN's search measured for the algorithm it chose for <paramref name="pass"/> (ms); null before that pass first ran.</summary>
    public float? SearchMilliseconds(ConvPass pass) => _choices[(int)pass]?.Milliseconds;

    /// <summary>For a depthwise key under DepthwiseKernels.Auto: true when our kernel won the timing of <paramref name="pass"/>, false when cuDNN did, null before it was timed. Kept here so the choice is made once per shape and pass.</summary>
    public ref bool? OwnDepthwise(ConvPass pass) => ref _ownDepthwise[(int)pass];

    public CudnnConvolution(ConvKey k)
    {
        _key = k;
        _x = CudnnTensorDescriptor.Create(k.N, k.C, k.H, k.W);
        _w = CudnnFilterDescriptor.Create(k.K, k.C / k.Groups, k.KH, k.KW);
        _y = CudnnTensorDescriptor.Create(k.N, k.K, k.OutH, k.OutW);
        _bias = CudnnTensorDescriptor.Create(1, k.K, 1, 1);
        _conv = CreateDescriptor(Cudnn.MathTypeFor(k.Tf32));
    }

    CudnnConvolutionDescriptor CreateDescriptor(CudnnMathType math) =>
        CudnnConvolutionDescriptor.Create(_key.PadH, _key.PadW, _key.StrideH, _key.StrideW, _key.DilationH, _key.DilationW, _key.Groups, math);

    // The descriptor to run an algorithm of math type `math` with: the key's, or one made once for that math type.
    nint DescriptorFor(CudnnMathType math)
    {
        if (math == Cudnn.MathTypeFor(_key.Tf32)) return _conv.Raw;
        ref var slot = ref _otherMath[(int)math];
        if (slot is null)
        {
            var made = CreateDescriptor(math);
            if (Interlocked.CompareExchange(ref slot, made, null) is not null) made.Dispose();   // another thread made it first
        }
        return slot!.Raw;
    }

    /// <summary>y = conv(x, w) (beta 0).</summary>
    public void Forward(CudaDevice dev, ulong x, ulong w, ulong y) => Run(dev, ConvPass.Forward, x, w, y);

    /// <summary>dx = conv^T(dy, w) (beta 0).</summary>
    public void BackwardData(CudaDevice dev, ulong w, ulong dy, ulong dx) => Run(dev, ConvPass.BackwardData, w, dy, dx);

    /// <summary>dw = sum over the batch of dy (x) x (beta 0).</summary>
    public void BackwardFilter(CudaDevice dev, ulong x, ulong dy, ulong dw) => Run(dev, ConvPass.BackwardFilter, x, dy, dw);

    // The descriptors of a pass's two inputs and its output, in the order cuDNN's calls take them:
    // forward (x, w -> y), backward data (w, dy -> dx), backward filter (x, dy -> dw).
    (nint A, nint B, nint Out) Descriptors(ConvPass pass) => pass switch
    {
        ConvPass.Forward => (_x.Raw, _w.Raw, _y.Raw),
        ConvPass.BackwardData => (_w.Raw, _y.Raw, _x.Raw),
        _ => (_x.Raw, _y.Raw, _w.Raw),
    };

    // One pass on inputs a, b into output `o` (see Descriptors): the algorithm from the pass's slot (searched on first
    // use), the descriptor of its math type, its workspace, then the call. A switch, not delegates: nothing allocated per call.
    void Run(CudaDevice dev, ConvPass pass, ulong a, ulong b, ulong o)
    {
        nint h = dev.Cudnn.Raw;
        var (ad, bd, od) = Descriptors(pass);
        var c = _choices[(int)pass] ??= Choose(dev, h, pass, a, b, o);
        nint conv = DescriptorFor(c.MathType);
        ulong ws = c.WorkspaceBytes > 0 ? dev.Workspace(c.WorkspaceBytes) : 0;
        nuint bytes = (nuint)c.WorkspaceBytes;
        float one = 1f, zero = 0f;
        int status = pass switch
        {
            ConvPass.Forward => CudnnNative.ConvolutionForward(h, &one, ad, a, bd, b, conv, c.Algo, ws, bytes, &zero, od, o),
            ConvPass.BackwardData => CudnnNative.ConvolutionBackwardData(h, &one, ad, a, bd, b, conv, c.Algo, ws, bytes, &zero, od, o),
            _ => CudnnNative.ConvolutionBackwardFilter(h, &one, ad, a, bd, b, conv, c.Algo, ws, bytes, &zero, od, o),
        };
        Cudnn.Check(status, $"{CallName(pass)}(algo {c.Algo}, {c.WorkspaceBytes} B workspace) for {_key}");
    }

    static string CallName(ConvPass pass) => pass switch
    {
        ConvPass.Forward => "cudnnConvolutionForward",
        ConvPass.BackwardData => "cudnnConvolutionBackwardData",
        _ => "cudnnConvolutionBackwardFilter",
    };

    /// <summary>y[n, k, ...] += bias[k].</summary>
    public void AddBias(CudaDevice dev, ulong bias, ulong y)
    {
        float one = 1f;
        Cudnn.Check(CudnnNative.AddTensor(dev.Cudnn.Raw, &one, _bias.Raw, bias, &one, _y.Raw, y), "cudnnAddTensor(conv bias)");
    }

    // Runs the timed search once, on the pass's real buffers; results come sorted by time, the first that ran is kept.
    ConvAlgoChoice Choose(CudaDevice dev, nint h, ConvPass pass, ulong a, ulong b, ulong o)
    {
        var perf = stackalloc CudnnAlgoPerf[MaxAlgorithms];
        int returned = 0;
        long searchBytes = CudaOptions.ConvSearchWorkspaceFor(dev.TotalMemoryBytes);
        ulong ws = SearchWorkspace(dev, ref searchBytes);
        var (ad, bd, od) = Descriptors(pass);
        nint cd = _conv.Raw;
        var wsBytes = (nuint)searchBytes;
        int status = pass switch
        {
            ConvPass.Forward => CudnnNative.FindConvolutionForwardAlgorithmEx(h, ad, a, bd, b, cd, od, o, MaxAlgorithms, &returned, perf, ws, wsBytes),
            ConvPass.BackwardData => CudnnNative.FindConvolutionBackwardDataAlgorithmEx(h, ad, a, bd, b, cd, od, o, MaxAlgorithms, &returned, perf, ws, wsBytes),
            _ => CudnnNative.FindConvolutionBackwardFilterAlgorithmEx(h, ad, a, bd, b, cd, od, o, MaxAlgorithms, &returned, perf, ws, wsBytes),
        };
        // The search's large workspace goes back to the allocator's cache, where an out-of-memory retry can free it; the
        // chosen algorithm takes what it needs at its call, and the next search finds the large block cached.
        dev.ReleaseWorkspace();
        Cudnn.Check(status, $"cudnnFindConvolution{pass}AlgorithmEx for {_key}");
        if (CudaOptions.LogAlgorithmSearch) LogSearch(pass, perf, returned);
        for (int i = 0; i < returned; i++)
            if (perf[i].Status == 0) return new ConvAlgoChoice(perf[i].Algo, (long)perf[i].Memory, (CudnnMathType)perf[i].MathType, perf[i].Time);
        throw new CudaException($"cuDNN found no {pass} algorithm for {_key} within a {searchBytes >> 20} MB workspace ({returned} tried); raise CudaOptions.ConvSearchWorkspaceBytes.");
    }

    // The search's workspace: the configured size, halved while the device cannot hold it (tensors may fill it), as
    // PyTorch's benchmark mode does; down to 16 MB, below which the allocator's out-of-memory error stands.
    static ulong SearchWorkspace(CudaDevice dev, ref long bytes)
    {
        while (true)
        {
            try { return bytes > 0 ? dev.Workspace(bytes) : 0; }
            catch (CudaException e) when (e.IsOutOfMemory && bytes > MinSearchWorkspaceBytes) { bytes /= 2; }
        }
    }

    const long MinSearchWorkspaceBytes = 16L << 20;

    void LogSearch(ConvPass pass, CudnnAlgoPerf* perf, int returned)
    {
        var line = new System.Text.StringBuilder($"cochlea: cudnn {pass} search for {_key}:");
        for (int i = 0; i < returned; i++)
            line.Append(perf[i].Status == 0
                ? FormattableString.Invariant($" algo {perf[i].Algo} {perf[i].Time:0.###} ms ({perf[i].Memory >> 10} KiB, math {perf[i].MathType});")
                : FormattableString.Invariant($" algo {perf[i].Algo} status {perf[i].Status};"));
        Console.Error.WriteLine(line.ToString());
    }

    public void Dispose()
    {
        _x.Dispose(); _y.Dispose(); _bias.Dispose(); _w.Dispose(); _conv.Dispose();
        foreach (var d in _otherMath) d?.Dispose();
    }
}
