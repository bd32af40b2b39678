// The implicit-GEMM path of conv2d/conv1d (Kernels/Conv/ImplicitConv): stride 1, dilation 1, groups 1, a kernel
// larger than 1x1, on the CPU. No column matrix in forward or backward: the kernels read the zero-padded input
// directly. FreesoundCnn's 3x11 'same' convs are the case it was written for.
//   forward   y = ImplicitConv.Forward(x, W) (+ bias)
//   backward  dx = ImplicitConv.BackwardInput(dy, W);  dW = ImplicitConv.BackwardWeight(x, dy);  db = sum of dy per channel
using Cochlea.Autograd;
using Cochlea.Kernels.Conv;

namespace Cochlea;

public static unsafe partial class Ops
{
    // Why these limits: an output row narrower than one AVX-512 tile (32 columns) would leave most of every tile's
    // lanes idle (ResNet's late 3x3 layers: 6..24 columns; the one-GEMM-over-the-batch path is better there), and a
    // reduction over more than 4096 taps no longer keeps the packed weights near L2.
    const int ImplicitMinOutWidth = 32, ImplicitMaxTaps = 4096;

    static bool UseImplicitConv(int groups, int cin, ConvAxis ah, ConvAxis aw)
        => groups == 1 && ah.Kernel * aw.Kernel > 1 && aw.Out >= ImplicitMinOutWidth
           && (long)cin * ah.Kernel * aw.Kernel <= ImplicitMaxTaps && ImplicitConv.Supports(ah, aw);

    static Tensor ConvImplicit(Tensor x, Tensor weight, Tensor? bias, ConvAxis ah, ConvAxis aw, int[] outShape, string name)
    {
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        long plane = (long)ah.Out * aw.Out;
        var y = Tensor.Empty(outShape);
        using (var xc = x.ContiguousRaw())
        using (var wc = weight.ContiguousRaw())
            ImplicitConv.Forward(xc.ReadDataPtr, wc.ReadDataPtr, y.DataPtr, n, cin, cout, ah, aw);
        if (bias is not null) AddChannelBias(y.DataPtr, bias, n, cout, plane);

        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return BackwardPass.Record(y, name, inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
            {
                using var ws = weight.ContiguousRaw();
                dx = Tensor.Empty(x.ShapeArray);
                ImplicitConv.BackwardInput(gc.DataPtr, ws.DataPtr, dx.DataPtr, n, cin, cout, ah, aw);
            }
            if (weight.RequiresGrad)
            {
                using var xs = x.ContiguousRaw();
                dw = Tensor.Empty(weight.ShapeArray);
                ImplicitConv.BackwardWeight(xs.DataPtr, gc.DataPtr, dw.DataPtr, n, cin, cout, ah, aw);
            }
            if (bias is not null && bias.RequiresGrad) db = ChannelSum(gc, n, cout, plane);
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }
}
