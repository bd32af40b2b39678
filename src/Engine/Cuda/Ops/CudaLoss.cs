// CUDA paths of the fused losses (src/Engine/Losses/Loss.cs): the same per-row / per-element loss
// and unit gradient in one pass (native/cuda/loss.cu), the total reduced on the device in a fixed
// order, and the backward scaling by the upstream gradient read on the device (no host round trip).
// Inputs are range-checked by the kernels, not read back: a class label outside [0, C), a BCE target
// outside [0, 1] or a bad teacher probability makes that row's loss and gradient NaN and is thrown at
// the device's next synchronisation (CudaDevice.DeferCheck; Item, ToArray, Synchronize), with the CPU
// path's exception type and message. So a training step never waits for the GPU in its loss.
using Cochlea.Cuda;

namespace Cochlea;

public static unsafe partial class Loss
{
    // Cross-entropy of xl (rows, C) on CUDA: class labels tl (rows) int64 or int32, contiguous, checked by the
    // kernel; or probabilities tl (rows, C).
    static Tensor CrossEntropyCuda(Tensor xl, Tensor tl, bool classLabels, long rows, int c, double keep, double uniform,
        Tensor? unitX, Tensor? logp, int[] lossShape, Reduction red)
    {
        var perRow = Tensor.Empty(red == Reduction.None ? lossShape : [checked((int)rows)], DType.Float32, xl.Device);
        if (rows > 0)
        {
            var dev = CudaLaunch.Dev(xl);
            ulong px = xl.DevicePtr, pt = tl.DevicePtr, pu = CudaLaunch.PtrOrNull(unitX), pl = perRow.DevicePtr, r = (ulong)rows, cc = (ulong)c;
            var grid = CudaLaunch.WarpRowsGrid(rows);
            var block = new Dim3(CudaLaunch.Threads);
            if (classLabels)
            {
                ulong check = dev.DeferCheck(static (f, ctx, d) => new ArgumentOutOfRangeException("target", f.Int,
                    $"{LabelOutOfRange("cross_entropy", f.IntText, f.PositionText, (int)ctx.Value)}; {d.DeferredNote}."), new(Value: c));
                int i32 = tl.DType == DType.Int32 ? 1 : 0;
                void** args = stackalloc void*[] { &px, &pt, &i32, &r, &cc, &keep, &uniform, &pu, &pl, &check };
                dev.Launch("cross_entropy_labels_f32", grid, block, 0, args);
            }
            else
            {
                ulong plp = CudaLaunch.PtrOrNull(logp);
                void** args = stackalloc void*[] { &px, &pt, &r, &cc, &keep, &uniform, &pu, &plp, &pl };
                dev.Launch("cross_entropy_probs_f32", grid, block, 0, args);
            }
        }
        return ReduceCuda(perRow, rows, red, 1.0);
    }

    // Elementwise BCE with logits of contiguous xc, tc on CUDA.
    static Tensor BceCuda(Tensor xc, Tensor tc, double keep, double half, Tensor? unitX, Reduction red)
    {
        var perElem = Tensor.Empty(xc.Shape, DType.Float32, xc.Device);
        long n = xc.Numel;
        if (n > 0)
        {
            var dev = CudaLaunch.Dev(xc);
            ulong check = dev.DeferCheck(static (f, _, d) => new ArgumentOutOfRangeException("targets", f.Float,
                $"{TargetOutsideUnit("bce_with_logits", f.Float, f.PositionText)}; {d.DeferredNote}."));
            ulong px = xc.DevicePtr, pt = tc.DevicePtr, nn = (ulong)n, pu = CudaLaunch.PtrOrNull(unitX), pl = perElem.DevicePtr;
            void** args = stackalloc void*[] { &px, &pt, &nn, &keep, &half, &pu, &pl, &check };
            dev.Launch("bce_with_logits_f32", CudaLaunch.Grid(n), new Dim3(CudaLaunch.Threads), 0, args);
        }
        return ReduceCuda(perElem, n, red, 1.0);
    }

    // Elementwise squared error of contiguous pc, tc on CUDA.
    static Tensor MseCuda(Tensor pc, Tensor tc, Tensor? unit, Reduction red)
    {
        var perElem = Tensor.Empty(pc.Shape, DType.Float32, pc.Device);
        long n = pc.Numel;
        if (n > 0)
        {
            ulong pp = pc.DevicePtr, pt = tc.DevicePtr, nn = (ulong)n, pu = CudaLaunch.PtrOrNull(unit), pl = perElem.DevicePtr;
            void** args = stackalloc void*[] { &pp, &pt, &nn, &pu, &pl };
            CudaLaunch.Dev(pc).Launch("mse_f32", CudaLaunch.Grid(n), new Dim3(CudaLaunch.Threads), 0, args);
        }
        return ReduceCuda(perElem, n, red, 1.0);
    }

    // Distillation loss of contiguous (B, C) sc, tc on CUDA: T^2 / B * sum of the per-row KL divergences.
    static Tensor KlDivDistillCuda(Tensor sc, Tensor tc, double invT, bool teacherIsProbabilities, Tensor? unit, double t2)
    {
        int b = sc.Shape[0], c = sc.Shape[1];
        var perRow = Tensor.Empty([b], DType.Float32, sc.Device);
        if (b > 0)
        {
            var dev = CudaLaunch.Dev(sc);
            ulong checkValue = 0, checkSum = 0;
            if (teacherIsProbabilities)
            {
                const string op = "kl_div_distill";
                checkValue = dev.DeferCheck(static (f, ctx, d) => new ArgumentOutOfRangeException("teacher", f.Float,
                    $"{TeacherProbabilityBad(op, f.Float, f.Position / ctx.Value, f.Position % ctx.Value)}; {d.DeferredNote}."), new(Value: c));
                checkSum = dev.DeferCheck(static (f, _, d) => new ArgumentException($"{TeacherRowZero(op, f.Position)}; {d.DeferredNote}.", "teacher"));
            }
            ulong ps = sc.DevicePtr, pt = tc.DevicePtr, r = (ulong)b, cc = (ulong)c, pu = CudaLaunch.PtrOrNull(unit), pl = perRow.DevicePtr;
            int probs = teacherIsProbabilities ? 1 : 0;
            void** args = stackalloc void*[] { &ps, &pt, &r, &cc, &invT, &probs, &pu, &pl, &checkValue, &checkSum };
            dev.Launch("kl_div_distill_f32", CudaLaunch.WarpRowsGrid(b), new Dim3(CudaLaunch.Threads), 0, args);
        }
        return ReduceCuda(perRow, b, Reduction.Sum, t2 / b);
    }

    // The op's output from per-position losses on the device: themselves for "none", else a 0-d
    // scale * sum (mean: scale / count; over zero positions NaN, as PyTorch). Takes ownership of perPosition.
    static Tensor ReduceCuda(Tensor perPosition, long count, Reduction red, double scale)
    {
        if (red == Reduction.None) return perPosition;
        using (perPosition)
        {
            var result = Tensor.Empty([], DType.Float32, perPosition.Device);
            double s = red == Reduction.Mean ? scale / count : scale;
            ulong pv = perPosition.DevicePtr, n = (ulong)count, po = result.DevicePtr;
            void** args = stackalloc void*[] { &pv, &n, &s, &po };
            // One block: a fixed summation order, so the loss is deterministic.
            CudaLaunch.Dev(perPosition).Launch("loss_sum_f32", new Dim3(1), new Dim3(CudaLaunch.Threads), 0, args);
            return result;
        }
    }

    // ScaleRows on CUDA: unit (rows, k) times g[0] (reduced; / rows for "mean") or g[r] ("none"), times factor.
    static Tensor ScaleRowsCuda(Tensor unit, Tensor g, Reduction red, long rows, double factor)
    {
        var d = Tensor.Empty(unit.Shape, DType.Float32, unit.Device);
        if (unit.Numel == 0) return d;
        using var gc = g.ContiguousRaw();
        ulong pu = unit.DevicePtr, pg = gc.DevicePtr, pd = d.DevicePtr, r = (ulong)rows, k = (ulong)(unit.Numel / rows);
        double div = red == Reduction.Mean ? rows : 1.0;
        int perRow = red == Reduction.None ? 1 : 0;
        void** args = stackalloc void*[] { &pu, &pg, &pd, &r, &k, &factor, &div, &perRow };
        CudaLaunch.Dev(unit).Launch("loss_scale_rows_f32", CudaLaunch.Grid(unit.Numel), new Dim3(CudaLaunch.Threads), 0, args);
        return d;
    }
}
