// conv1d / conv2d on cuDNN (grouped and depthwise included): descriptors and algorithms cached per shape
// (CudaDevice.Convolution), asymmetric padding applied explicitly (ConvPlan), bias through cudnnAddTensor.
//   forward  y = conv(pad(x), W) + b;  backward dx = crop(conv^T(dy, W)), dW = conv_w(pad(x), dy), db = sum dy
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
        var conv = dev.Convolution(k);
        var outShape = name == "conv1d" ? new[] { n, cout, aw.Out } : new[] { n, cout, ah.Out, aw.Out };
        var y = CudaTensors.Empty(x.Device, outShape);
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
        using (var xp = plan.NeedsPad ? ConvPadInput(dev, xc, plan) : null)
        {
            conv.Forward(dev, (xp ?? xc).DevicePtr, wc.DevicePtr, y.DevicePtr);
            if (bias is not null)
                using (var bc = bias.ContiguousRaw()) conv.AddBias(dev, bc.DevicePtr, y.DevicePtr);
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, name, inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
            {
                using var wc = weight.ContiguousRaw();
                dx = CudaTensors.Empty(x.Device, x.ShapeArray);
                if (!plan.NeedsPad) conv.BackwardData(dev, wc.DevicePtr, gc.DevicePtr, dx.DevicePtr);
                else
                {
                    using var dxp = CudaTensors.Empty(x.Device, k.N, k.C, k.H, k.W);
                    conv.BackwardData(dev, wc.DevicePtr, gc.DevicePtr, dxp.DevicePtr);
                    ConvPadCopy(dev, "conv_crop2d_f32", dxp.DevicePtr, dx.DevicePtr, plan, ah.In, aw.In);
                }
            }
            if (weight.RequiresGrad)
            {
                dw = CudaTensors.Empty(x.Device, weight.ShapeArray);
                using var xc = x.ContiguousRaw();
                using var xp = plan.NeedsPad ? ConvPadInput(dev, xc, plan) : null;
                conv.BackwardFilter(dev, (xp ?? xc).DevicePtr, gc.DevicePtr, dw.DevicePtr);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                db = CudaTensors.Empty(x.Device, cout);
                conv.BackwardBias(dev, gc.DevicePtr, db.DevicePtr);
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
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
