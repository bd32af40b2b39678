// batch_norm on cuDNN (spatial mode, x seen as (N, C, spatial, 1); descriptors cached per shape, CudnnBatchNorm).
// Training: cudnnBatchNormalizationForwardTraining with exponentialAverageFactor = momentum, which is the CPU's
// convention (running = (1 - m) running + m batch, the running variance unbiased); backward
// cudnnBatchNormalizationBackward from the saved mean / inverse std. Eval: cudnnBatchNormalizationForwardInference,
// backward with the statistics as constants (batch_norm_eval_backward_f32).
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Cudnn;

namespace Cochlea;

public static unsafe partial class Ops
{
    static Tensor BatchNormCuda(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum, float eps, int n, int c, int spatial)
    {
        var dev = CudaTensors.DeviceOf("batch_norm", x, weight, bias, runningMean, runningVar);
        if (x.Numel == 0)   // eval only: training rejects fewer than two values per channel
            return CudaTensors.EmptyViaCpu(x.Device, t => BatchNorm(t[0]!, t[1], t[2], t[3], t[4], training, momentum, eps), x, weight, bias, runningMean, runningVar);
        var y = CudaTensors.Empty(x.Device, x.ShapeArray);
        var xc = x.ContiguousRaw();   // kept for backward
        // cuDNN needs scale and bias: ones (the device's shared vector, only read) and zeros stand in for null.
        ulong scale = weight?.DevicePtr ?? dev.Ones(c);
        var key = new BatchNormKey(n, c, spatial);
        Tensor mean, stat;   // training: saved mean and inverse std; eval: copies of the running mean and variance
        using (var lease = dev.BatchNorm(key))   // descriptors made once per shape while it stays cached
        using (var zeros = bias is null ? CudaTensors.Zeros(dev, c) : null)
        {
            var bn = lease.Value;
            ulong shift = (bias ?? zeros!).DevicePtr;
            mean = CudaTensors.Empty(x.Device, c);
            stat = CudaTensors.Empty(x.Device, c);
            if (training)
            {
                // cuDNN updates both running statistics or neither: a missing one gets a throw-away buffer.
                using var spare = (runningMean is null) != (runningVar is null) ? CudaTensors.Zeros(dev, c) : null;
                ulong rm = runningMean?.DevicePtr ?? spare?.DevicePtr ?? 0, rv = runningVar?.DevicePtr ?? spare?.DevicePtr ?? 0;
                bn.ForwardTraining(dev, xc.DevicePtr, y.DevicePtr, scale, shift, momentum, rm, rv, eps, mean.DevicePtr, stat.DevicePtr);
            }
            else
            {
                dev.CopyOnDevice(mean.DevicePtr, runningMean!.DevicePtr, c * sizeof(float));
                dev.CopyOnDevice(stat.DevicePtr, runningVar!.DevicePtr, c * sizeof(float));
                bn.ForwardInference(dev, xc.DevicePtr, y.DevicePtr, scale, shift, mean.DevicePtr, stat.DevicePtr, eps);
            }
        }

        Tensor[] inputs = (weight, bias) switch
        {
            (null, null) => [x],
            (null, _) => [x, bias],
            (_, null) => [x, weight],
            _ => [x, weight, bias],
        };
        return BackwardPass.Record(y, "batch_norm", inputs, g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = CudaTensors.Empty(x.Device, x.ShapeArray);
            var dgamma = CudaTensors.Empty(x.Device, c);
            var dbeta = CudaTensors.Empty(x.Device, c);
            if (training)
            {
                // Looked up again, not kept from the forward: the shape may have been evicted since.
                using var lease = dev.BatchNorm(key);
                lease.Value.Backward(dev, xc.DevicePtr, gc.DevicePtr, dx.DevicePtr, weight?.DevicePtr ?? dev.Ones(c), dgamma.DevicePtr, dbeta.DevicePtr,
                    eps, mean.DevicePtr, stat.DevicePtr);
            }
            else
            {
                ulong px = xc.DevicePtr, pg = gc.DevicePtr, pdx = dx.DevicePtr, pgam = weight?.DevicePtr ?? 0, pm = mean.DevicePtr, pv = stat.DevicePtr;
                ulong pdg = dgamma.DevicePtr, pdb = dbeta.DevicePtr;
                int nn = n, cc = c, ss = spatial;
                float e = eps;
                void** args = stackalloc void*[] { &px, &pg, &pdx, &nn, &cc, &ss, &pgam, &pm, &pv, &e, &pdg, &pdb };
                dev.Launch("batch_norm_eval_backward_f32", new Dim3((uint)c), new Dim3(256), 0, args);
            }
            if (weight is null) dgamma.Dispose();
            if (bias is null) dbeta.Dispose();
            return (weight, bias) switch
            {
                (null, null) => [dx],
                (null, _) => [dx, dbeta],
                (_, null) => [dx, dgamma],
                _ => [dx, dgamma, dbeta],
            };
        });
    }
}
