// recurrence / bidirectional_recurrence on CUDA (CudaRecurrence per direction). The bidirectional op writes both
// directions straight into the halves of its (T, B, 2H) output (row stride 2H), so no interleave pass is needed.
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Rnn;

namespace Cochlea;

public static unsafe partial class Ops
{
    static Tensor RecurrenceCuda(Tensor xw, Tensor wHh, Tensor? bHh, RecurrentCell cell, bool reverse, int[]? lengths,
        float forgetBias, bool hhInputMajor, int T, int B, int H, int GH)
    {
        var dev = CudaTensors.DeviceOf("recurrence", xw, wHh, bHh);
        var st = new CudaRecurrence(dev, xw.Device, cell, T, B, H, reverse, lengths, forgetBias, hhInputMajor);
        var y = CudaTensors.Empty(xw.Device, T, B, H);
        using (var xc = xw.ContiguousRaw())
        using (var wc = wHh.ContiguousRaw())
        using (var bc = bHh?.ContiguousRaw())
            st.Forward(xc.DevicePtr, wc.DevicePtr, bc?.DevicePtr ?? 0, y.DevicePtr, H);
        Tensor[] inputs = bHh is null ? [xw, wHh] : [xw, wHh, bHh];
        BackwardPass.Record(y, "recurrence", inputs, g =>
        {
            var dxw = CudaTensors.Empty(xw.Device, T, B, GH);
            var dw = CudaTensors.Empty(xw.Device, wHh.ShapeArray);
            var db = bHh is null ? null : CudaTensors.Empty(xw.Device, GH);
            using (var gc = g.ContiguousRaw())
            using (var wc = wHh.ContiguousRaw())
                st.Backward(gc.DevicePtr, H, wc.DevicePtr, dxw.DevicePtr, dw.DevicePtr, db?.DevicePtr ?? 0);
            st.Dispose();
            return bHh is null ? [dxw, dw] : [dxw, dw, db];
        });
        if (y.GradFn is null) st.Dispose();
        return y;
    }

    static Tensor BidirectionalRecurrenceCuda(Tensor xwF, Tensor wF, Tensor? bF, Tensor xwR, Tensor wR, Tensor? bR,
        RecurrentCell cell, int[]? lengths, float forgetBias, bool hhInputMajor, int T, int B, int H, int GH)
    {
        var dev = CudaTensors.DeviceOf("bidirectional_recurrence", xwF, wF, bF, xwR, wR, bR);
        var st = new[]
        {
            new CudaRecurrence(dev, xwF.Device, cell, T, B, H, false, lengths, forgetBias, hhInputMajor),
            new CudaRecurrence(dev, xwF.Device, cell, T, B, H, true, lengths, forgetBias, hhInputMajor),
        };
        Tensor[] xs = [xwF, xwR], ws = [wF, wR];
        Tensor?[] bs = [bF, bR];
        var y = CudaTensors.Empty(xwF.Device, T, B, 2 * H);
        ulong half = (ulong)H * sizeof(float);   // the reverse direction's columns start H floats into each row
        for (int d = 0; d < 2; d++)
        {
            using var xc = xs[d].ContiguousRaw();
            using var wc = ws[d].ContiguousRaw();
            using var bc = bs[d]?.ContiguousRaw();
            st[d].Forward(xc.DevicePtr, wc.DevicePtr, bc?.DevicePtr ?? 0, y.DevicePtr + (d == 0 ? 0 : half), 2 * H);
        }
        Tensor[] inputs = bF is null ? [xwF, wF, xwR, wR] : [xwF, wF, bF, xwR, wR, bR!];
        BackwardPass.Record(y, "bidirectional_recurrence", inputs, g =>
        {
            var r = new List<Tensor?>();
            using var gc = g.ContiguousRaw();
            for (int d = 0; d < 2; d++)
            {
                var dxw = CudaTensors.Empty(xwF.Device, T, B, GH);
                var dw = CudaTensors.Empty(xwF.Device, ws[d].ShapeArray);
                var db = bF is null ? null : CudaTensors.Empty(xwF.Device, GH);
                using (var wc = ws[d].ContiguousRaw())
                    st[d].Backward(gc.DevicePtr + (d == 0 ? 0 : half), 2 * H, wc.DevicePtr, dxw.DevicePtr, dw.DevicePtr, db?.DevicePtr ?? 0);
                st[d].Dispose();
                r.Add(dxw); r.Add(dw);
                if (db is not null) r.Add(db);
            }
            return r.ToArray();
        });
        if (y.GradFn is null) foreach (var s in st) s.Dispose();
        return y;
    }
}
