// One convolution shape on cuDNN: its descriptors, and for each pass the algorithm found once by
// cudnnFind*AlgorithmEx (timed trials on the real buffers, fastest successful one kept) with the workspace it needs,
// taken from the device's cached workspace. Cached per device by ConvKey (CudaDevice.Convolution).
namespace Cochlea.Cuda.Cudnn;

internal sealed unsafe class CudnnConvolution : IDisposable
{
    /// <summary>Workspace offered to the algorithm search: algorithms needing more are not tried.</summary>
    internal const long SearchWorkspaceBytes = 256L << 20;
    const int MaxAlgorithms = 16;

    readonly ConvKey _key;
    readonly CudnnTensorDescriptor _x, _y, _bias;
    readonly CudnnFilterDescriptor _w;
    readonly CudnnConvolutionDescriptor _conv;
    ConvAlgoChoice? _forward, _backwardData, _backwardFilter;

    public CudnnConvolution(ConvKey k)
    {
        _key = k;
        _x = CudnnTensorDescriptor.Create(k.N, k.C, k.H, k.W);
        _w = CudnnFilterDescriptor.Create(k.K, k.C / k.Groups, k.KH, k.KW);
        _y = CudnnTensorDescriptor.Create(k.N, k.K, k.OutH, k.OutW);
        _bias = CudnnTensorDescriptor.Create(1, k.K, 1, 1);
        _conv = CudnnConvolutionDescriptor.Create(k.PadH, k.PadW, k.StrideH, k.StrideW, k.DilationH, k.DilationW, k.Groups, Cudnn.MathTypeFor(k.Tf32));
    }

    /// <summary>y = conv(x, w) (beta 0).</summary>
    public void Forward(CudaDevice dev, ulong x, ulong w, ulong y)
    {
        nint h = dev.Cudnn.Raw;
        var a = _forward ??= Choose(dev, ConvPass.Forward, (n, p, ws) => CudnnNative.FindConvolutionForwardAlgorithmEx(h, _x.Raw, x, _w.Raw, w, _conv.Raw, _y.Raw, y, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes));
        float one = 1f, zero = 0f;
        ulong ws = Prepare(dev, a);
        Cudnn.Check(CudnnNative.ConvolutionForward(h, &one, _x.Raw, x, _w.Raw, w, _conv.Raw, a.Algo, ws, (nuint)a.WorkspaceBytes, &zero, _y.Raw, y), Call("cudnnConvolutionForward", a));
    }

    /// <summary>dx = conv^T(dy, w) (beta 0).</summary>
    public void BackwardData(CudaDevice dev, ulong w, ulong dy, ulong dx)
    {
        nint h = dev.Cudnn.Raw;
        var a = _backwardData ??= Choose(dev, ConvPass.BackwardData, (n, p, ws) => CudnnNative.FindConvolutionBackwardDataAlgorithmEx(h, _w.Raw, w, _y.Raw, dy, _conv.Raw, _x.Raw, dx, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes));
        float one = 1f, zero = 0f;
        ulong ws = Prepare(dev, a);
        Cudnn.Check(CudnnNative.ConvolutionBackwardData(h, &one, _w.Raw, w, _y.Raw, dy, _conv.Raw, a.Algo, ws, (nuint)a.WorkspaceBytes, &zero, _x.Raw, dx), Call("cudnnConvolutionBackwardData", a));
    }

    /// <summary>dw = sum over the batch of dy (x) x (beta 0).</summary>
    public void BackwardFilter(CudaDevice dev, ulong x, ulong dy, ulong dw)
    {
        nint h = dev.Cudnn.Raw;
        var a = _backwardFilter ??= Choose(dev, ConvPass.BackwardFilter, (n, p, ws) => CudnnNative.FindConvolutionBackwardFilterAlgorithmEx(h, _x.Raw, x, _y.Raw, dy, _conv.Raw, _w.Raw, dw, MaxAlgorithms, n, p, ws, (nuint)SearchWorkspaceBytes));
        float one = 1f, zero = 0f;
        ulong ws = Prepare(dev, a);
        Cudnn.Check(CudnnNative.ConvolutionBackwardFilter(h, &one, _x.Raw, x, _y.Raw, dy, _conv.Raw, a.Algo, ws, (nuint)a.WorkspaceBytes, &zero, _w.Raw, dw), Call("cudnnConvolutionBackwardFilter", a));
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

    delegate int Find(int* returned, CudnnAlgoPerf* perf, ulong workspace);

    // Runs the timed search once; results come sorted by time, the first that ran is kept.
    ConvAlgoChoice Choose(CudaDevice dev, ConvPass pass, Find find)
    {
        var perf = stackalloc CudnnAlgoPerf[MaxAlgorithms];
        int returned = 0;
        ulong ws = dev.Workspace(SearchWorkspaceBytes);
        Cudnn.Check(find(&returned, perf, ws), $"cudnnFindConvolution{pass}AlgorithmEx for {_key}");
        for (int i = 0; i < returned; i++)
            if (perf[i].Status == 0) return new ConvAlgoChoice(perf[i].Algo, (long)perf[i].Memory, (CudnnMathType)perf[i].MathType);
        throw new CudaException($"cuDNN found no {pass} algorithm for {_key} within a {SearchWorkspaceBytes >> 20} MB workspace ({returned} tried).");
    }

    ulong Prepare(CudaDevice dev, ConvAlgoChoice a)
    {
        Cudnn.Check(CudnnNative.SetConvolutionMathType(_conv.Raw, a.MathType), "cudnnSetConvolutionMathType");
        return a.WorkspaceBytes > 0 ? dev.Workspace(a.WorkspaceBytes) : 0;
    }

    string Call(string call, ConvAlgoChoice a) => $"{call}(algo {a.Algo}, {a.WorkspaceBytes} B workspace) for {_key}";

    public void Dispose()
    {
        _x.Dispose(); _y.Dispose(); _bias.Dispose(); _w.Dispose(); _conv.Dispose();
    }
}
