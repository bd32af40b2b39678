// conv1d / conv2d on cuDNN (grouped and depthwise included): descriptors and algorithms cached per shape
// (CudaDevice.Convolution), asymmetric padding applied explicitly (ConvPlan), bias through cudnnAddTensor.
//   forward  y = conv(pad(x), W) + b;  backward dx = crop(conv^T(dy, W)), dW = conv_w(pad(x), dy), db = sum dy (our
//   CudaReduce.SumPerChannel: cudnnConvolutionBackwardBias was slow on an H100)
// Depthwise convolutions (groups == C_in == C_out) may run our native/cuda/depthwise.cu kernels instead, per
// CudaOptions.DepthwiseKernels: PyTorch runs its own kernels, not cuDNN, for float32 depthwise (cuDNN only for FP16);
// Auto times ours against cuDNN per shape and pass (on an H100, WaveKws's step took 3.47 ms with ours forced, 3.71 ms with
// cuDNN's; bench/README.md). The choice is host-side state only (kept with the cuDNN plan under Auto).
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Cudnn;
using Cochlea.Kernels.Conv;

namespace Cochlea;

public static unsafe partial class Ops
{
    static Tensor ConvCuda(Tensor x, Tensor weight, Tensor? bias, ConvAxis ah, ConvAxis aw, int groups, string name)
    {
        var dev = CudaTensors.DeviceOf(name, x, weight, bias);
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        if ((long)n * cin * cout == 0) return CudaTensors.EmptyViaCpu(x.Device, t => ConvCore(t[0]!, t[1]!, t[2], ah, aw, groups, name), x, weight, bias);
        var plan = ConvPlan.Create(n, cin, cout, groups, ah, aw, CudaOptions.AllowTf32);
        bool depthwise = groups == cin && cout == cin;
        var mode = depthwise ? CudaOptions.DepthwiseKernels : DepthwiseKernels.Cudnn;
        var own = depthwise ? new DepthwiseConv(n, cin, ah, aw) : default;
        var outShape = name == "conv1d" ? new[] { n, cout, aw.Out } : new[] { n, cout, ah.Out, aw.Out };
        var y = CudaTensors.Empty(x.Device, outShape);
        using (var lease = mode == DepthwiseKernels.Own ? default : dev.Convolution(plan.Key))   // Own: no cuDNN descriptors at all
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
        using (var bc = bias?.ContiguousRaw())
        {
            var conv = mode == DepthwiseKernels.Own ? null : lease.Value;
            RunPass(new ConvCall(dev, own, conv, plan, X: xc, W: wc, Dy: null, Bias: bc?.DevicePtr ?? 0, Out: y), mode, ConvPass.Forward);
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, name, inputs, g =>
        {
            // The shape's cuDNN state is looked up again, not kept from the forward: it may have been evicted since.
            using var lease = mode == DepthwiseKernels.Own ? default : dev.Convolution(plan.Key);
            var conv = mode == DepthwiseKernels.Own ? null : lease.Value;
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            bool wantDb = bias is not null && bias.RequiresGrad, dbDone = false;
            if (wantDb) db = CudaTensors.Empty(x.Device, cout);
            if (x.RequiresGrad)
            {
                using var wc = weight.ContiguousRaw();
                dx = CudaTensors.Empty(x.Device, x.ShapeArray);
                RunPass(new ConvCall(dev, own, conv, plan, X: null, W: wc, Dy: gc, Bias: 0, Out: dx), mode, ConvPass.BackwardData);
            }
            if (weight.RequiresGrad)
            {
                dw = CudaTensors.Empty(x.Device, weight.ShapeArray);
                using var xc = x.ContiguousRaw();
                // db rides along in our weight kernel whenever that one's result is kept.
                dbDone = RunPass(new ConvCall(dev, own, conv, plan, X: xc, W: null, Dy: gc, Bias: wantDb ? db!.DevicePtr : 0, Out: dw),
                    mode, ConvPass.BackwardFilter) && wantDb;
            }
            if (wantDb && !dbDone)
            {
                if (conv is null || conv.OwnDepthwise(ConvPass.BackwardFilter) is true) own.BackwardWeight(dev, 0, gc.DevicePtr, 0, db!.DevicePtr);
                else CudaReduce.SumPerChannel(gc, db!);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }

    // The operands of one convolution pass (contiguous device tensors; null / 0 where the pass has none):
    //   Forward        X (N, C, H, W), W, Bias (b or 0)  -> Out = y
    //   BackwardData   W, Dy                             -> Out = dx
    //   BackwardFilter X, Dy, Bias (db or 0; only our kernel fills it) -> Out = dw
    // Conv is null when our kernel is forced (DepthwiseKernels.Own). A struct, so a pass allocates no closures.
    readonly record struct ConvCall(CudaDevice Dev, DepthwiseConv Own, CudnnConvolution? Conv, ConvPlan Plan,
        Tensor? X, Tensor? W, Tensor? Dy, ulong Bias, Tensor Out);

    // One pass of a convolution: cuDNN, or for a depthwise one our kernel per `mode`. Under Auto the first call of a
    // shape and pass runs cuDNN (whose search measures its best algorithm), then times our kernel on the same buffers
    // (one warm-up run, best of 3; it overwrites the outputs with its own complete result) and keeps the faster in
    // the plan. Returns true when our kernel's result is the one left in the outputs.
    static bool RunPass(in ConvCall c, DepthwiseKernels mode, ConvPass pass)
    {
        if (mode == DepthwiseKernels.Own) { OwnPass(c, pass); return true; }
        if (mode == DepthwiseKernels.Cudnn) { CudnnPass(c, pass); return false; }
        ref bool? choice = ref c.Conv!.OwnDepthwise(pass);
        if (choice is bool known)
        {
            if (known) OwnPass(c, pass); else CudnnPass(c, pass);
            return known;
        }
        CudnnPass(c, pass);
        float cudnnMs = c.Conv.SearchMilliseconds(pass) ?? float.MaxValue;
        choice = BestOf3(c, pass) < cudnnMs;
        return true;
    }

    // A pass on our depthwise kernels.
    static void OwnPass(in ConvCall c, ConvPass pass)
    {
        switch (pass)
        {
            case ConvPass.Forward: c.Own.Forward(c.Dev, c.X!.DevicePtr, c.W!.DevicePtr, c.Bias, c.Out.DevicePtr); break;
            case ConvPass.BackwardData: c.Own.BackwardData(c.Dev, c.Dy!.DevicePtr, c.W!.DevicePtr, c.Out.DevicePtr); break;
            default: c.Own.BackwardWeight(c.Dev, c.X!.DevicePtr, c.Dy!.DevicePtr, c.Out.DevicePtr, c.Bias); break;
        }
    }

    // A pass on cuDNN, with the plan's explicit padding of x (forward, filter) or cropping of dx (data).
    static void CudnnPass(in ConvCall c, ConvPass pass)
    {
        var (dev, conv, plan) = (c.Dev, c.Conv!, c.Plan);
        switch (pass)
        {
            case ConvPass.Forward:
                using (var xp = plan.NeedsPad ? ConvPadInput(dev, c.X!, plan) : null) conv.Forward(dev, (xp ?? c.X!).DevicePtr, c.W!.DevicePtr, c.Out.DevicePtr);
                if (c.Bias != 0) conv.AddBias(dev, c.Bias, c.Out.DevicePtr);
                break;
            case ConvPass.BackwardData:
                if (!plan.NeedsPad) { conv.BackwardData(dev, c.W!.DevicePtr, c.Dy!.DevicePtr, c.Out.DevicePtr); break; }
                var k = plan.Key;
                using (var dxp = CudaTensors.Empty(c.Out.Device, k.N, k.C, k.H, k.W))
                {
                    conv.BackwardData(dev, c.W!.DevicePtr, c.Dy!.DevicePtr, dxp.DevicePtr);
                    ConvPadCopy(dev, "conv_crop2d_f32", dxp.DevicePtr, c.Out.DevicePtr, plan, k.H - plan.PadTop - plan.PadBottom, k.W - plan.PadLeft - plan.PadRight);
                }
                break;
            default:
                using (var xp = plan.NeedsPad ? ConvPadInput(dev, c.X!, plan) : null) conv.BackwardFilter(dev, (xp ?? c.X!).DevicePtr, c.Dy!.DevicePtr, c.Out.DevicePtr);
                break;
        }
    }

    // GPU ms of our kernel for `pass`: one untimed warm-up (the first launch loads the module), then the fastest of 3 timed runs.
    static float BestOf3(in ConvCall c, ConvPass pass)
    {
        OwnPass(c, pass);
        using var start = new CudaEvent(c.Dev);
        using var stop = new CudaEvent(c.Dev);
        float best = float.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            start.Record();
            OwnPass(c, pass);
            stop.Record();
            best = Math.Min(best, stop.ElapsedMilliseconds(start));
        }
        return best;
    }

    // x (N, C, [H,] W) contiguous -> (N, C, H + top + bottom, W + left + right), zeros around.
    static Tensor ConvPadInput(CudaDevice dev, Tensor x, ConvPlan plan)
    {
        var k = plan.Key;
        var xp = CudaTensors.Empty(x.Device, k.N, k.C, k.H, k.W);
        ConvPadCopy(dev, "conv_pad2d_f32", x.DevicePtr, xp.DevicePtr, plan, k.H - plan.PadTop - plan.PadBottom, k.W - plan.PadLeft - plan.PadRight);
        return xp;
    }

    // conv_pad2d_f32 (src = unpadded, dst = padded) or conv_crop2d_f32 (src = padded, dst = unpadded); h, w unpadded.
    static void ConvPadCopy(CudaDevice dev, string kernel, ulong src, ulong dst, ConvPlan plan, int h, int w)
    {
        var k = plan.Key;
        long planes = (long)k.N * k.C;
        int top = plan.PadTop, left = plan.PadLeft, oh = k.H, ow = k.W;
        void** args = stackalloc void*[] { &src, &dst, &planes, &h, &w, &top, &left, &oh, &ow };
        CudaTensors.Launch(dev, kernel, planes * oh * ow, args);
    }
}
