// One convolution shape on cuDNN: its descriptors, and for each pass the algorithm found once by
// cudnnFind*AlgorithmEx (timed trials on the real buffers, fastest successful one kept) with the workspace it needs,
// taken from the device's cached workspace. Cached per device by ConvKey (CudaDevice.Convolution). An algorithm runs
// with the math type its search reported: the key's (CudaOptions.AllowTf32, part of the key) on the descriptor the
// search used, any other on a descriptor made once with it. So no call sets a math type (that was 80
// cudnnSetConvolutionMathType calls per WaveKws step) and a pass on another thread never sees it changed.
// The search's time for the chosen algorithm is kept (SearchMilliseconds), and for a depthwise shape under
// CudaOptions.DepthwiseKernels.Auto so is the verdict of timing our kernel against it (OwnDepthwise, Ops.ConvCuda).
namespace Cochlea.Cuda.Cudnn;

internal sealed unsafe class CudnnConvolution : IDisposable
{
    /// <summary>Workspace offered to the algorithm search: algorithms needing more are not tried.</summary>
    internal const long SearchWorkspaceBytes = 256L << 20;
    const int MaxAlgorithms = 16;

    readonly ConvKey _key;
    readonly CudnnTensorDescriptor _x, _y, _bias;
    readonly CudnnFilterDescriptor _w;
    readonly CudnnConvolutionDescriptor _conv;   // the key's math type; the searches run on it
    readonly CudnnConvolutionDescriptor?[] _otherMath = new CudnnConvolutionDescriptor?[4];   // by cudnnMathType_t, made on demand
    ConvAlgoChoice? _forward, _backwardData, _backwardFilter;
    readonly bool?[] _ownDepthwise = new bool?[3];   // by ConvPass: DepthwiseKernels.Auto's choice, null until timed

    /// <summary>The time cuDNN's search measured for the algorithm it chose for <paramref name="pass"/> (ms); null before that pass first ran.</summary>
    public float? SearchMilliseconds(ConvPass pass) => (pass switch
    {
        ConvPass.Forward => _forward,
        ConvPass.BackwardData => _backwardData,
        _ => _backwardFilter,
    })?.Milliseconds;

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
    public void Forward(CudaDevice dev, ulong x, ulong w, ulong y)
    {
        nint xd = _x.Raw, wd = _w.Raw, cd = _conv.Raw, yd = _y.Raw;
        Run(dev, ref _forward, ConvPass.Forward, "cudnnConvolutionForward",
            (h, n, p, ws) => CudnnNative.FindConvolutionForwardAlgorithmEx(h, xd, x, wd, w, cd, yd, y, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes),
            (h, conv, one, zero, algo, ws, bytes) => CudnnNative.ConvolutionForward(h, one, xd, x, wd, w, conv, algo, ws, bytes, zero, yd, y));
    }

    /// <summary>dx = conv^T(dy, w) (beta 0).</summary>
    public void BackwardData(CudaDevice dev, ulong w, ulong dy, ulong dx)
    {
        nint xd = _x.Raw, wd = _w.Raw, cd = _conv.Raw, yd = _y.Raw;
        Run(dev, ref _backwardData, ConvPass.BackwardData, "cudnnConvolutionBackwardData",
            (h, n, p, ws) => CudnnNative.FindConvolutionBackwardDataAlgorithmEx(h, wd, w, yd, dy, cd, xd, dx, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes),
            (h, conv, one, zero, algo, ws, bytes) => CudnnNative.ConvolutionBackwardData(h, one, wd, w, yd, dy, conv, algo, ws, bytes, zero, xd, dx));
    }

    /// <summary>dw = sum over the batch of dy (x) x (beta 0).</summary>
    public void BackwardFilter(CudaDevice dev, ulong x, ulong dy, ulong dw)
    {
        nint xd = _x.Raw, wd = _w.Raw, cd = _conv.Raw, yd = _y.Raw;
        Run(dev, ref _backwardFilter, ConvPass.BackwardFilter, "cudnnConvolutionBackwardFilter",
            (h, n, p, ws) => CudnnNative.FindConvolutionBackwardFilterAlgorithmEx(h, xd, x, yd, dy, cd, wd, dw, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes),
            (h, conv, one, zero, algo, ws, bytes) => CudnnNative.ConvolutionBackwardFilter(h, one, xd, x, yd, dy, conv, algo, ws, bytes, zero, wd, dw));
    }

    delegate int Find(nint handle, int* returned, CudnnAlgoPerf* perf, ulong workspace);
    delegate int Exec(nint handle, nint convDesc, float* one, float* zero, int algo, ulong workspace, nuint workspaceBytes);

    // One pass: the algorithm from the cache slot (searched on first use), the descriptor of its math type, its workspace, then the call.
    void Run(CudaDevice dev, ref ConvAlgoChoice? slot, ConvPass pass, string call, Find find, Exec exec)
    {
        nint h = dev.Cudnn.Raw;
        var a = slot ??= Choose(dev, h, pass, find);
        nint conv = DescriptorFor(a.MathType);
        ulong ws = a.WorkspaceBytes > 0 ? dev.Workspace(a.WorkspaceBytes) : 0;
        float one = 1f, zero = 0f;
        Cudnn.Check(exec(h, conv, &one, &zero, a.Algo, ws, (nuint)a.WorkspaceBytes), $"{call}(algo {a.Algo}, {a.WorkspaceBytes} B workspace) for {_key}");
    }

    /// <summary>y[n, k, ...] += bias[k].</summary>
    public void AddBias(CudaDevice dev, ulong bias, ulong y)
    {
        float one = 1f;
        Cudnn.Check(CudnnNative.AddTensor(dev.Cudnn.Raw, &one, _bias.Raw, bias, &one, _y.Raw, y), "cudnnAddTensor(conv bias)");
    }

    /// <summary>db[k] = sum of dy[:, k, ...].</summary>
    public void BackwardBias(CudaDevice dev, ulong dy, ulong db)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.ConvolutionBackwardBias(dev.Cudnn.Raw, &one, _y.Raw, dy, &zero, _bias.Raw, db), "cudnnConvolutionBackwardBias");
    }

    // Runs the timed search once; results come sorted by time, the first that ran is kept.
    ConvAlgoChoice Choose(CudaDevice dev, nint h, ConvPass pass, Find find)
    {
        var perf = stackalloc CudnnAlgoPerf[MaxAlgorithms];
        int returned = 0;
        ulong ws = dev.Workspace(SearchWorkspaceBytes);
        Cudnn.Check(find(h, &returned, perf, ws), $"cudnnFindConvolution{pass}AlgorithmEx for {_key}");
        for (int i = 0; i < returned; i++)
            if (perf[i].Status == 0) return new ConvAlgoChoice(perf[i].Algo, (long)perf[i].Memory, (CudnnMathType)perf[i].MathType, perf[i].Time);
        throw new CudaException($"cuDNN found no {pass} algorithm for {_key} within a {SearchWorkspaceBytes >> 20} MB workspace ({returned} tried).");
    }

    public void Dispose()
    {
        _x.Dispose(); _y.Dispose(); _bias.Dispose(); _w.Dispose(); _conv.Dispose();
        foreach (var d in _otherMath) d?.Dispose();
    }
}
