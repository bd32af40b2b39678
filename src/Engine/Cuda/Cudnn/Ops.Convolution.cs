// conv1d / conv2d on cuDNN (grouped and depthwise included): descriptors and algorithms cached per shape
// (CudaDevice.Convolution), asymmetric padding applied explicitly (ConvPlan), bias through cudnnAddTensor.
//   forward  y = conv(pad(x), W) + b;  backward dx = crop(conv^T(dy, W)), dW = conv_w(pad(x), dy), db = sum dy
// Depthwise convolutions (groups == C_in == C_out) may run our native/cuda/depthwise.cu kernels instead, per
// CudaOptions.DepthwiseKernels: PyTorch runs its own kernels, not cuDNN, for float32 depthwise (cuDNN only for FP16);
// Auto times ours against cuDNN per shape and pass, as neither has been measured on a GPU here. The choice is host-side state only (kept with the cuDNN plan under Auto).
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
        var k = plan.Key;
        bool depthwise = groups == cin && cout == cin;
        var mode = depthwise ? CudaOptions.DepthwiseKernels : DepthwiseKernels.Cudnn;
        var own = depthwise ? new DepthwiseConv(n, cin, ah, aw) : default;
        var conv = mode == DepthwiseKernels.Own ? null : dev.Convolution(k);   // Own: no cuDNN descriptors at all
        var outShape = name == "conv1d" ? new[] { n, cout, aw.Out } : new[] { n, cout, ah.Out, aw.Out };
        var y = CudaTensors.Empty(x.Device, outShape);
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
        using (var bc = bias?.ContiguousRaw())
        {
            RunPass(dev, mode, conv, ConvPass.Forward,
                () => own.Forward(dev, xc.DevicePtr, wc.DevicePtr, bc?.DevicePtr ?? 0, y.DevicePtr),
                () =>
                {
                    using (var xp = plan.NeedsPad ? ConvPadInput(dev, xc, plan) : null) conv!.Forward(dev, (xp ?? xc).DevicePtr, wc.DevicePtr, y.DevicePtr);
                    if (bc is not null) conv!.AddBias(dev, bc.DevicePtr, y.DevicePtr);
                });
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, name, inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            bool wantDb = bias is not null && bias.RequiresGrad, dbDone = false;
            if (wantDb) db = CudaTensors.Empty(x.Device, cout);
            if (x.RequiresGrad)
            {
                using var wc = weight.ContiguousRaw();
                var dxt = dx = CudaTensors.Empty(x.Device, x.ShapeArray);
                RunPass(dev, mode, conv, ConvPass.BackwardData,
                    () => own.BackwardData(dev, gc.DevicePtr, wc.DevicePtr, dxt.DevicePtr),
                    () =>
                    {
                        if (!plan.NeedsPad) { conv!.BackwardData(dev, wc.DevicePtr, gc.DevicePtr, dxt.DevicePtr); return; }
                        using var dxp = CudaTensors.Empty(x.Device, k.N, k.C, k.H, k.W);
                        conv!.BackwardData(dev, wc.DevicePtr, gc.DevicePtr, dxp.DevicePtr);
                        ConvPadCopy(dev, "conv_crop2d_f32", dxp.DevicePtr, dxt.DevicePtr, plan, ah.In, aw.In);
                    });
            }
            if (weight.RequiresGrad)
            {
                var dwt = dw = CudaTensors.Empty(x.Device, weight.ShapeArray);
                using var xc = x.ContiguousRaw();
                // db rides along in our weight kernel whenever that one's result is kept.
                dbDone = RunPass(dev, mode, conv, ConvPass.BackwardFilter,
                    () => own.BackwardWeight(dev, xc.DevicePtr, gc.DevicePtr, dwt.DevicePtr, wantDb ? db!.DevicePtr : 0),
                    () =>
                    {
                        using var xp = plan.NeedsPad ? ConvPadInput(dev, xc, plan) : null;
                        conv!.BackwardFilter(dev, (xp ?? xc).DevicePtr, gc.DevicePtr, dwt.DevicePtr);
                    }) && wantDb;
            }
            if (wantDb && !dbDone)
            {
                if (mode == DepthwiseKernels.Own || conv!.OwnDepthwise(ConvPass.BackwardFilter) is true) own.BackwardWeight(dev, 0, gc.DevicePtr, 0, db!.DevicePtr);
                else conv.BackwardBias(dev, gc.DevicePtr, db!.DevicePtr);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }

    // One pass of a convolution: cuDNN, or for a depthwise one our kernel per `mode`. Under Auto the first call of a
    // shape and pass runs cuDNN (whose search measures its best algorithm), then times our kernel on the same buffers
    // (one warm-up run, best of 3; it overwrites the outputs with its own complete result) and keeps the faster in
    // the plan. Returns true when our kernel's result is the one left in the outputs.
    static bool RunPass(CudaDevice dev, DepthwiseKernels mode, CudnnConvolution? conv, ConvPass pass, Action own, Action cudnn)
    {
        if (mode == DepthwiseKernels.Own) { own(); return true; }
        if (mode == DepthwiseKernels.Cudnn) { cudnn(); return false; }
        ref bool? choice = ref conv!.OwnDepthwise(pass);
        if (choice is bool known)
        {
            (known ? own : cudnn)();
            return known;
        }
        cudnn();
        float cudnnMs = conv.SearchMilliseconds(pass) ?? float.MaxValue;
        choice = BestOf3(dev, own) < cudnnMs;
        return true;
    }

    // GPU ms of `run`: one untimed warm-up (the first launch loads the module), then the fastest of 3 timed runs.
    static float BestOf3(CudaDevice dev, Action run)
    {
        run();
        using var start = new CudaEvent(dev);
        using var stop = new CudaEvent(dev);
        float best = float.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            start.Record();
            run();
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
